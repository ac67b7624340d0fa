// The FFmpeg headers MediaIO needs, plus static inline wrappers for the macros Swift
// cannot import (AVERROR, AV_NOPTS_VALUE, AVERROR_EOF, av_err2str). Only MediaIO imports this.
#ifndef SIGHTLINE_CFFMPEG_SHIM_H
#define SIGHTLINE_CFFMPEG_SHIM_H

#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavdevice/avdevice.h>
#include <libavutil/avutil.h>
#include <libavutil/channel_layout.h>
#include <libavutil/dict.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libavutil/samplefmt.h>
#include <libavutil/time.h>
#include <libswscale/swscale.h>
#include <libswresample/swresample.h>
#include <stdint.h>
#include <stdlib.h>

static inline int64_t sl_av_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline int sl_averror_eof(void) { return AVERROR_EOF; }
static inline int sl_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int sl_averror_exit(void) { return AVERROR_EXIT; }
static inline int sl_averror_etimedout(void) { return AVERROR(ETIMEDOUT); }
static inline int sl_averror(int errnum) { return AVERROR(errnum); }
static inline AVRational sl_av_time_base_q(void) { return AV_TIME_BASE_Q; }

/// Interrupt callback trampoline: FFmpeg calls `cb(opaque)` during blocking I/O; a
/// non-zero return aborts the call with AVERROR_EXIT. The Swift side supplies `cb`.
typedef int (*sl_interrupt_fn)(void *opaque);
static inline void sl_set_interrupt(AVFormatContext *ctx, sl_interrupt_fn cb, void *opaque) {
    ctx->interrupt_callback.callback = cb;
    ctx->interrupt_callback.opaque = opaque;
}

/// Copies FFmpeg's error text for `code` into a caller-owned buffer of `size` bytes.
static inline void sl_error_string(int code, char *buf, size_t size) {
    if (av_strerror(code, buf, size) < 0) {
        snprintf(buf, size, "FFmpeg error %d", code);
    }
}

#endif
