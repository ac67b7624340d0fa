# Shared settings for the Scripts/ entry points. One place for the build flags, so the
# main job and the test suite reuse one release build instead of building twice.
APT_PACKAGES=(
    pkg-config ffmpeg
    libavformat-dev libavcodec-dev libavdevice-dev libavutil-dev libswscale-dev libswresample-dev
    libsqlite3-dev zlib1g-dev libopenblas-dev
    systemd python3-venv
)
# Release builds: numeric code is 10-100x slower in debug. -enable-testing lets the test
# suite use this same build (`swift test` with identical flags rebuilds nothing).
SWIFT_BUILD_FLAGS=(-c release -Xswiftc -enable-testing)
# Programs users run (and the benchmarks that stand for them) link the Swift runtime and
# Foundation statically: dynamic loading and relocating them cost ~20 ms at every start,
# which `sightline probe` and the ingest benchmark pay per file. `swift test` has no such
# flag and relinks them dynamically for the tests; only the link step differs.
SWIFT_STATIC_FLAGS=(--static-swift-stdlib)
log() { printf 'sightline-setup: %s\n' "$*" >&2; }
