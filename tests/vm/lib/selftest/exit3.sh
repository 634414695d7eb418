# Harness self-test (guest side): run.sh must exit with the script's code, 3.
echo "selftest: exiting with 3"
exit 3
