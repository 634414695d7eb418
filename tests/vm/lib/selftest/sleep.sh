# Harness self-test (guest side): never finishes by itself (timeout and --kill-after cases).
echo "selftest: sleeping"
while :; do sleep 1; done
