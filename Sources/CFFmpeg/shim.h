// The FFmpeg headers MediaIO needs, plus static inline wrappers for the macros Swift
// cannot import (AVERROR, AV_NOPTS_VALUE, AVERROR_EOF, av_err2str). Only MediaIO imports this.
#ifndef SIGHTLINE_CFFMPEG_SHIM_H
#define SIGHTLINE_CFFMPEG_SHIM_H

#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavdevice/version_major.h>
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
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>

static inline int64_t sl_av_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline int sl_averror_eof(void) { return AVERROR_EOF; }
static inline int sl_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int sl_averror_exit(void) { return AVERROR_EXIT; }
static inline int sl_averror_etimedout(void) { return AVERROR(ETIMEDOUT); }
static inline int sl_averror(int errnum) { return AVERROR(errnum); }
static inline AVRational sl_av_time_base_q(void) { return AV_TIME_BASE_Q; }
// Status answers of HTTP and RTSP servers that FFmpeg turns into error codes (a camera
// answers 401 to a wrong password, 404 to a wrong path).
static inline int sl_averror_http_unauthorized(void) { return AVERROR_HTTP_UNAUTHORIZED; }
static inline int sl_averror_http_forbidden(void) { return AVERROR_HTTP_FORBIDDEN; }
static inline int sl_averror_http_not_found(void) { return AVERROR_HTTP_NOT_FOUND; }

/* libavdevice is loaded only when a capture device is opened: linking it pulls libavfilter
 * and ~80 more libraries (OpenBLAS among them, whose threads start spinning at load) into
 * every process, ~20 ms of start-up that files and streams never use. Returns 0 when the
 * devices are registered, -1 when the library cannot be loaded, -2 when it lacks the symbol. */
static inline const char *sl_avdevice_library_name(void) {
    return "libavdevice.so." AV_STRINGIFY(LIBAVDEVICE_VERSION_MAJOR);
}

static inline int sl_load_avdevice(void) {
    void *lib = dlopen(sl_avdevice_library_name(), RTLD_NOW | RTLD_GLOBAL);
    if (!lib) return -1;
    void (*register_all)(void) = (void (*)(void))dlsym(lib, "avdevice_register_all");
    if (!register_all) return -2;
    register_all();
    return 0;
}

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


/// Scales/converts `src` into one packed RGB24 buffer of `dst_height` rows with `dst_stride`
/// bytes per row (FFmpeg's data/linesize are fixed-size C arrays, awkward from Swift).
static inline int sl_sws_scale_to_rgb(struct SwsContext *sws, const AVFrame *src,
                                      uint8_t *dst, int dst_stride) {
    uint8_t *dst_planes[4] = { dst, NULL, NULL, NULL };
    int dst_strides[4] = { dst_stride, 0, 0, 0 };
    return sws_scale(sws, (const uint8_t * const *)src->data, src->linesize, 0, src->height,
                     dst_planes, dst_strides);
}

/// Converts one packed RGB24 picture (`src_height` rows of `src_stride` bytes) into the planes
/// of `dst` (its format and size set, its buffers allocated).
static inline int sl_sws_scale_rgb_to_frame(struct SwsContext *sws, const uint8_t *src, int src_stride, int src_height,
                                            AVFrame *dst) {
    const uint8_t *src_planes[4] = { src, NULL, NULL, NULL };
    int src_strides[4] = { src_stride, 0, 0, 0 };
    return sws_scale(sws, src_planes, src_strides, 0, src_height, dst->data, dst->linesize);
}

/// Scales one packed RGB24 picture (`src_height` rows of `src_stride` bytes) into another.
static inline int sl_sws_scale_rgb(struct SwsContext *sws, const uint8_t *src, int src_stride, int src_height,
                                   uint8_t *dst, int dst_stride) {
    const uint8_t *src_planes[4] = { src, NULL, NULL, NULL };
    int src_strides[4] = { src_stride, 0, 0, 0 };
    uint8_t *dst_planes[4] = { dst, NULL, NULL, NULL };
    int dst_strides[4] = { dst_stride, 0, 0, 0 };
    return sws_scale(sws, src_planes, src_strides, 0, src_height, dst_planes, dst_strides);
}

/// Resamples `frame` (or flushes when frame is NULL) into `out` (interleaved/mono float),
/// returning the number of samples written per channel or a negative AVERROR.
static inline int sl_swr_convert_frame(SwrContext *swr, const AVFrame *frame,
                                       float *out, int out_capacity) {
    uint8_t *out_planes[1] = { (uint8_t *)out };
    if (frame == NULL) {
        return swr_convert(swr, out_planes, out_capacity, NULL, 0);
    }
    return swr_convert(swr, out_planes, out_capacity,
                       (const uint8_t **)frame->extended_data, frame->nb_samples);
}

/// Sets up `swr` to turn the decoder's audio into 16 kHz mono float. Returns 0 or AVERROR.
static inline int sl_swr_setup_mono16k(SwrContext **swr, const AVCodecContext *dec, int out_rate) {
    AVChannelLayout mono = { 0 };
    av_channel_layout_default(&mono, 1);
    AVChannelLayout in_layout = { 0 };
    int rc;
    if (dec->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || dec->ch_layout.nb_channels <= 0) {
        av_channel_layout_default(&in_layout, dec->ch_layout.nb_channels > 0 ? dec->ch_layout.nb_channels : 1);
    } else {
        rc = av_channel_layout_copy(&in_layout, &dec->ch_layout);
        if (rc < 0) return rc;
    }
    rc = swr_alloc_set_opts2(swr, &mono, AV_SAMPLE_FMT_FLT, out_rate,
                             &in_layout, dec->sample_fmt, dec->sample_rate, 0, NULL);
    av_channel_layout_uninit(&in_layout);
    if (rc < 0) return rc;
    return swr_init(*swr);
}

static inline int sl_frame_is_key(const AVFrame *f) {
    return (f->key_frame != 0) || (f->pict_type == AV_PICTURE_TYPE_I);
}
static inline int sl_packet_is_key(const AVPacket *p) { return (p->flags & AV_PKT_FLAG_KEY) != 0; }
static inline int sl_packet_is_corrupt(const AVPacket *p) { return (p->flags & AV_PKT_FLAG_CORRUPT) != 0; }
static inline int sl_channels(const AVCodecParameters *par) { return par->ch_layout.nb_channels; }
static inline int sl_is_nofile(const AVInputFormat *f) { return f != NULL && (f->flags & AVFMT_NOFILE) != 0; }

#endif
