# The container image's tools: podman builds it (from scratch: nothing is pulled), the
# Debian CA bundle goes into it, binutils strips the binary. runc runs it in the image
# test: crun refuses this machine's hybrid cgroup hierarchy, runc does not.
# Sourced by scripts/tools.sh, which provides BIN, STAMPS, TOOLS_DIR, log, go_tool, debian.

EXTRA_TEST_GROUPS+=(image)

group_image() {
  debian $DEBIAN_IMAGE
}
