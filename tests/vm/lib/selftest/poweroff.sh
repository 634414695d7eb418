# Harness self-test (guest side): the script powers off itself, so no exit marker is printed;
# run.sh must fail (the test did not run to its end).
poweroff -f
