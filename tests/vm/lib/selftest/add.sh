# Harness self-test (guest side): --add DIR shows up under /extra, subdirectories included.
set -e
[ "$(cat /extra/hello.txt)" = "hello $1" ]
[ -x /extra/sub/dir/tool.sh ]
[ "$(sh /extra/sub/dir/tool.sh)" = "tool ran" ]
echo "selftest: /extra is complete"
