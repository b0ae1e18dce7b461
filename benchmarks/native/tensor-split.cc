// Standalone micro-benchmark of the detector tensor on the pull thread
// (docs/performance.md "The capture tensor, 2026-12-07"): thread CPU time per
// 1280×720 frame of the I420 tensor's three steps (resample, GStreamer's
// converter, float write into one of 4 tensor slots, pad kept; "pad extra":
// writing the pad too), the BGR letterbox, and the frame's copy + resample
// done whole against in row bands (I420Resampler, as the addon does).
//
// Frames (one decoded 1280×720 frame of the capture benchmark's clip):
//   C=/tmp/bestshot-bench/suburban-720p-square.mp4   # npm run bench -- capture makes it
//   gst-launch-1.0 -q filesrc location=$C ! decodebin ! videoconvert ! video/x-raw,format=I420 ! identity eos-after=101 ! multifilesink location=/tmp/i420_%03d.yuv
//   gst-launch-1.0 -q filesrc location=$C ! decodebin ! videoconvert ! video/x-raw,format=BGR ! identity eos-after=101 ! multifilesink location=/tmp/bgr_%03d.raw
// Build and run (letterbox.cc with the addon's flags):
//   g++ -std=c++17 -O3 -ffp-contract=off -c native/letterbox.cc -Inative -o /tmp/lb.o
//   g++ -std=c++17 -O2 benchmarks/native/tensor-split.cc /tmp/lb.o -Inative $(pkg-config --cflags --libs gstreamer-video-1.0) -o /tmp/tensor-split
//   /tmp/tensor-split /tmp/i420_100.yuv /tmp/bgr_100.raw 420
#include "letterbox.h"
#include <gst/gst.h>
#include <gst/video/video.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <vector>
#include <algorithm>
using namespace bestshot;
static double tcpu() { timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
static std::vector<uint8_t> readf(const char* p) { FILE* f = fopen(p, "rb"); std::vector<uint8_t> v; if (!f) { perror(p); exit(1);} fseek(f,0,SEEK_END); v.resize(ftell(f)); fseek(f,0,SEEK_SET); if (fread(v.data(),1,v.size(),f)!=v.size()) exit(1); fclose(f); return v; }
static uint64_t fnv(const void* d, size_t n) { const uint8_t* p = (const uint8_t*)d; uint64_t h = 1469598103934665603ull; for (size_t i = 0; i < n; ++i) { h ^= p[i]; h *= 1099511628211ull; } return h; }
static void CopyAndResample(const std::vector<uint8_t>& frame, int N);

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  if (argc < 3) {
    fprintf(stderr, "usage: tensor-split I420_FRAME BGR_FRAME [calls]\n");
    return 2;
  }
  const int N = argc > 3 ? atoi(argv[3]) : 300;
  const int nslots = 4;
  const int W = 1280, H = 720;
  auto yuv = readf(argv[1]);
  auto bgr = readf(argv[2]);
  TensorSpec spec; spec.width = 416; spec.height = 416; spec.pad_value = 114; spec.scale = 1;
  const size_t tn = 3 * 416 * 416;
  std::vector<std::vector<float>> slots(nslots, std::vector<float>(tn));
  const LetterboxGeometry g = GeometryFor(W, H, spec);
  GstVideoInfo in, out;
  gst_video_info_set_format(&in, GST_VIDEO_FORMAT_I420, g.scaled_w, g.scaled_h);
  gst_video_colorimetry_from_string(&in.colorimetry, "bt709");
  in.chroma_site = GST_VIDEO_CHROMA_SITE_MPEG2;
  gst_video_info_set_format(&out, GST_VIDEO_FORMAT_BGRx, g.scaled_w, g.scaled_h);
  GstStructure* config = gst_structure_new("GstVideoConverter", GST_VIDEO_CONVERTER_OPT_DITHER_METHOD, GST_TYPE_VIDEO_DITHER_METHOD, GST_VIDEO_DITHER_BAYER,
      GST_VIDEO_CONVERTER_OPT_DITHER_QUANTIZATION, G_TYPE_UINT, 1u, GST_VIDEO_CONVERTER_OPT_CHROMA_RESAMPLER_METHOD, GST_TYPE_VIDEO_RESAMPLER_METHOD, GST_VIDEO_RESAMPLER_METHOD_LINEAR,
      GST_VIDEO_CONVERTER_OPT_THREADS, G_TYPE_UINT, 1u, nullptr);
  GstVideoConverter* conv = gst_video_converter_new(&in, &out, config);
  std::vector<uint8_t> small(GST_VIDEO_INFO_SIZE(&in)), bgrx(GST_VIDEO_INFO_SIZE(&out));
  const int cw = W / 2, ch = H / 2;
  const uint8_t* yp = yuv.data(); const uint8_t* up = yp + W * H; const uint8_t* vp = up + cw * ch;
  double t_res = 0, t_conv = 0, t_float = 0, t_bgr = 0, t_pad = 0;
  double b_res = 0, b_conv = 0, b_float = 0, b_bgr = 0, m_res = 1e9, m_conv = 1e9, m_float = 1e9, m_bgr = 1e9;
  // first fill pads
  for (auto& s : slots) Packed4ScaledToPlanarFloat(bgrx.data(), GST_VIDEO_INFO_PLANE_STRIDE(&out, 0), false, spec, g, s.data(), false);
  for (int i = 0; i < N; ++i) {
    float* dst = slots[i % nslots].data();
    double a = tcpu();
    ResampleI420(yp, W, up, vp, cw, W, H, true, g.scaled_w, g.scaled_h, small.data() + GST_VIDEO_INFO_PLANE_OFFSET(&in, 0), GST_VIDEO_INFO_PLANE_STRIDE(&in, 0),
                 small.data() + GST_VIDEO_INFO_PLANE_OFFSET(&in, 1), small.data() + GST_VIDEO_INFO_PLANE_OFFSET(&in, 2), GST_VIDEO_INFO_PLANE_STRIDE(&in, 1));
    double b = tcpu();
    GstBuffer* ib = gst_buffer_new_wrapped_full((GstMemoryFlags)0, small.data(), small.size(), 0, small.size(), nullptr, nullptr);
    GstBuffer* ob = gst_buffer_new_wrapped_full((GstMemoryFlags)0, bgrx.data(), bgrx.size(), 0, bgrx.size(), nullptr, nullptr);
    GstVideoFrame inf, outf;
    gst_video_frame_map(&inf, &in, ib, GST_MAP_READ); gst_video_frame_map(&outf, &out, ob, GST_MAP_WRITE);
    gst_video_converter_frame(conv, &inf, &outf);
    gst_video_frame_unmap(&outf); gst_video_frame_unmap(&inf); gst_buffer_unref(ib); gst_buffer_unref(ob);
    double c = tcpu();
    Packed4ScaledToPlanarFloat(bgrx.data(), GST_VIDEO_INFO_PLANE_STRIDE(&out, 0), false, spec, g, dst, true);
    double d = tcpu();
    Packed4ScaledToPlanarFloat(bgrx.data(), GST_VIDEO_INFO_PLANE_STRIDE(&out, 0), false, spec, g, dst, false);
    double e = tcpu();
    LetterboxToPlanarFloat(bgr.data(), W, H, W * 3, false, spec, dst, true);
    double f = tcpu();
    if (i >= 20) { t_res += b - a; t_conv += c - b; t_float += d - c; t_pad += (e - d) - (d - c); t_bgr += f - e;
      b_res += b - a; b_conv += c - b; b_float += d - c; b_bgr += f - e;
      if ((i - 20) % 10 == 9) { m_res = std::min(m_res, b_res / 10); m_conv = std::min(m_conv, b_conv / 10); m_float = std::min(m_float, b_float / 10); m_bgr = std::min(m_bgr, b_bgr / 10); b_res = b_conv = b_float = b_bgr = 0; } }
  }
  const int M = N - 20;
  // checksum of the final tensors
  Packed4ScaledToPlanarFloat(bgrx.data(), GST_VIDEO_INFO_PLANE_STRIDE(&out, 0), false, spec, g, slots[0].data(), false);
  uint64_t h1 = fnv(slots[0].data(), tn * 4);
  std::fill(slots[1].begin(), slots[1].end(), -1.f);
  LetterboxToPlanarFloat(bgr.data(), W, H, W * 3, false, spec, slots[1].data(), false);
  uint64_t h2 = fnv(slots[1].data(), tn * 4);
  printf("us/call (thread CPU, %d calls, %d slots): resample %.1f  convert %.1f  float-write %.1f  [pad extra %.1f]  | i420 total %.1f | BGR letterbox %.1f | hash i420 %016llx bgr %016llx\n",
         M, nslots, 1e3 * t_res / M, 1e3 * t_conv / M, 1e3 * t_float / M, 1e3 * t_pad / M, 1e3 * (t_res + t_conv + t_float) / M, 1e3 * t_bgr / M,
         (unsigned long long)h1, (unsigned long long)h2);
  printf("  best batch of 10: resample %.1f convert %.1f float-write %.1f i420 %.1f | BGR letterbox %.1f\n", 1e3*m_res, 1e3*m_conv, 1e3*m_float, 1e3*(m_res+m_conv+m_float), 1e3*m_bgr);
  gst_video_converter_free(conv);
  CopyAndResample(yuv, N);
}

// The frame copied from one of 6 "decoder" buffers into one of 8 pixel slots, then
// resampled (whole), against copied and resampled in bands of 16 rows.
static void CopyAndResample(const std::vector<uint8_t>& frame, int N) {
  const int band = 16;
  const int W = 1280, H = 720, cw = 640, ch = 360; const size_t fb = W * H + 2 * cw * ch;
  std::vector<std::vector<uint8_t>> dec(6, frame), slots(8, std::vector<uint8_t>(fb));
  std::vector<std::vector<float>> tens(4, std::vector<float>(3 * 416 * 416));
  const int dw = 416, dh = 234, dcw = 208, dch = 117;
  std::vector<uint8_t> small(dw * dh + 2 * dcw * dch), small2(small.size());
  I420Resampler r;
  double tw = 0, tb = 0, mw = 1e9, mb = 1e9, bw = 0, bb = 0;
  for (int i = 0; i < N; ++i) {
    const uint8_t* d = dec[i % 6].data(); uint8_t* s = slots[i % 8].data();
    // pollute like the float write of a tensor
    std::fill(tens[i % 4].begin(), tens[i % 4].begin() + 416 * 234 * 3, float(i));
    double a = tcpu();
    std::memcpy(s, d, fb);
    ResampleI420(s, W, s + W * H, s + W * H + cw * ch, cw, W, H, true, dw, dh, small.data(), dw, small.data() + dw * dh, small.data() + dw * dh + dcw * dch, dcw);
    double b = tcpu();
    d = dec[(i + 3) % 6].data(); s = slots[(i + 4) % 8].data();
    std::fill(tens[(i + 2) % 4].begin(), tens[(i + 2) % 4].begin() + 416 * 234 * 3, float(i));
    double c = tcpu();
    r.Prepare(W, H, true, dw, dh);
    const int rows[3] = {H, ch, ch}, widths[3] = {W, cw, cw}; const size_t off[3] = {0, (size_t)W * H, (size_t)W * H + cw * ch};
    const size_t soff[3] = {0, (size_t)dw * dh, (size_t)dw * dh + dcw * dch}; const int sw[3] = {dw, dcw, dcw};
    for (int p = 0; p < 3; ++p) for (int y = 0; y < rows[p]; y += band) {
      const int n = std::min(band, rows[p] - y);
      std::memcpy(s + off[p] + (size_t)y * widths[p], d + off[p] + (size_t)y * widths[p], (size_t)n * widths[p]);
      r.Rows(p, s + off[p], widths[p], y + n, small2.data() + soff[p], sw[p]);
    }
    double e = tcpu();
    if (i >= 20) { tw += b - a; tb += e - c; bw += b - a; bb += e - c; if ((i - 20) % 10 == 9) { mw = std::min(mw, bw / 10); mb = std::min(mb, bb / 10); bw = bb = 0; } }
  }
  const int M = N - 20;
  printf("copy+resample us/frame (band %d): whole %.1f banded %.1f | best batch whole %.1f banded %.1f | same bytes: %s\n", band, 1e3 * tw / M, 1e3 * tb / M, 1e3 * mw, 1e3 * mb,
         fnv(small.data(), small.size()) == fnv(small2.data(), small2.size()) ? "yes" : "NO");
}
