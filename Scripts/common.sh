# Shared settings for the Scripts/ entry points. One place for the build flags, so the
# main job and the test suite reuse one release build instead of building twice.
APT_PACKAGES=(
    pkg-config ffmpeg
    libavformat-dev libavcodec-dev libavdevice-dev libavutil-dev libswscale-dev libswresample-dev
    libsqlite3-dev zlib1g-dev libopenblas-dev
    systemd python3-venv
    # A real RTSP camera for the end-to-end tests (Scripts/rtsp-serve: GStreamer's RTSP server).
    gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
    gstreamer1.0-plugins-ugly gstreamer1.0-libav
)
# Release builds: numeric code is 10-100x slower in debug. -enable-testing lets the test
# suite use this same build (`swift test` with identical flags rebuilds nothing).
SWIFT_BUILD_FLAGS=(-c release -Xswiftc -enable-testing)
# What users install (Scripts/install) and the benchmarks that stand for it link the Swift
# runtime and Foundation statically: loading and relocating them dynamically costs ~20 ms at
# every start, which `sightline probe` and the ingest benchmark pay per file. The flag
# changes how every module is compiled, so that build has its own scratch directory and
# never invalidates the shared release build above (`swift test` has no such flag).
SWIFT_STATIC_BUILD_FLAGS=(-c release --static-swift-stdlib --scratch-path "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.build-static")
log() { printf 'sightline-setup: %s\n' "$*" >&2; }
