# S3 storage's tools: MinIO, the S3 server the tests and benchmarks start on 127.0.0.1.
# Sourced by scripts/tools.sh, which provides BIN, STAMPS, TOOLS_DIR, log, go_tool, debian.

EXTRA_TEST_GROUPS+=(s3)

group_s3() {
  # Never fetch another Go toolchain: build with the one on the machine.
  local -x GOTOOLCHAIN=local
  go_tool minio github.com/minio/minio "$MINIO_VERSION"
}
