package dev.sparktune.report;

import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Small inline SVG charts for the report: horizontal bars, a histogram with a marker, and line
 * charts. Written by hand (a few hundred lines of SVG beat a charting library with a headless AWT
 * stack): the report stays one self-contained HTML file that opens from disk.
 */
final class Svg {
  private Svg() {}

  static final String[] COLORS = {"#3b6ea5", "#d9822b", "#4f9d69", "#b34747", "#7d5ba6", "#8c8c8c"};

  static String esc(String s) {
    return s == null ? "" : s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        .replace("\"", "&quot;");
  }

  static String num(double v) {
    if (Math.abs(v) >= 1000 || v == Math.rint(v)) {
      return String.format(Locale.ROOT, "%,.0f", v);
    }
    return String.format(Locale.ROOT, Math.abs(v) >= 1 ? "%.2f" : "%.3g", v);
  }

  /** One bar per label (in order), each with its value written at the end; several series stack side by side. */
  static String bars(Map<String, double[]> rows, List<String> series, int width) {
    int longest = rows.keySet().stream().mapToInt(String::length).max().orElse(10);
    int label = Math.min(320, Math.max(120, 12 + (int) (longest * 6.6)));
    int rowH = 16 * Math.max(1, series.size()) + 8;
    int height = rows.size() * rowH + 24;
    double max = 1e-9;
    for (double[] v : rows.values()) {
      for (double x : v) {
        max = Math.max(max, x);
      }
    }
    double scale = (width - label - 70) / max;
    StringBuilder b = new StringBuilder(svgOpen(width, height));
    int y = 4;
    for (Map.Entry<String, double[]> r : rows.entrySet()) {
      b.append(text(label - 6, y + rowH / 2.0 + 1, r.getKey(), "end", 12, null));
      double[] v = r.getValue();
      for (int s = 0; s < v.length; s++) {
        double w = Math.max(v[s] > 0 ? 1 : 0, v[s] * scale);
        int by = y + s * 16;
        b.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"13\" fill=\"%s\"/>",
            label, by, w, COLORS[s % COLORS.length]));
        b.append(text(label + w + 4, by + 11, num(v[s]), "start", 11, "#333"));
      }
      y += rowH;
    }
    if (series.size() > 1) {
      b.append(legend(series, label, height - 10));
    }
    return b.append("</svg>").toString();
  }

  /** A histogram of {@code values} in {@code bins} bins over [0, max], with a dashed marker at {@code mark}. */
  static String histogram(List<Integer> values, int bins, double max, double mark, String markLabel,
      String xLabel, int width) {
    long[] counts = new long[bins];
    for (int v : values) {
      counts[bin(v, bins, max)]++;
    }
    return histogram(counts, max, mark, markLabel, xLabel, width);
  }

  /** The bin of {@code v} among {@code bins} equal bins over [0, max), the last one open-ended. */
  static int bin(double v, int bins, double max) {
    return Math.max(0, (int) Math.min(bins - 1, Math.floor(v / max * bins)));
  }

  /** {@link #histogram(List, int, double, double, String, String, int)} from counts already binned. */
  static String histogram(long[] counts, double max, double mark, String markLabel, String xLabel, int width) {
    int bins = counts.length;
    int height = 220;
    int left = 50;
    int bottom = 40;
    long top = 1;
    for (long c : counts) {
      top = Math.max(top, c);
    }
    double bw = (width - left - 20.0) / bins;
    double hScale = (height - bottom - 20.0) / top;
    StringBuilder b = new StringBuilder(svgOpen(width, height));
    for (int i = 0; i < bins; i++) {
      double h = counts[i] * hScale;
      b.append(String.format(Locale.ROOT,
          "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>%s–%s: %d</title></rect>",
          left + i * bw + 1, height - bottom - h, bw - 2, h, COLORS[0], num(i * max / bins),
          num((i + 1) * max / bins), counts[i]));
    }
    axes(b, left, width, height, bottom, 0, max, 0, top, xLabel, "examples");
    double mx = left + mark / max * (width - left - 20.0);
    b.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"14\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" "
        + "stroke-dasharray=\"5,4\" stroke-width=\"1.5\"/>", mx, mx, height - bottom, COLORS[3]));
    b.append(text(mx - 4, 12, markLabel, "end", 11, COLORS[3]));
    return b.append("</svg>").toString();
  }

  /** A line chart of several series of (x, y) points, with an optional vertical marker. */
  static String lines(Map<String, List<double[]>> series, String xLabel, String yLabel, Double markX,
      String markLabel, int width) {
    int height = 240;
    int left = 60;
    int bottom = 44;
    double minX = Double.MAX_VALUE;
    double maxX = -Double.MAX_VALUE;
    double minY = Double.MAX_VALUE;
    double maxY = -Double.MAX_VALUE;
    for (List<double[]> pts : series.values()) {
      for (double[] p : pts) {
        minX = Math.min(minX, p[0]);
        maxX = Math.max(maxX, p[0]);
        minY = Math.min(minY, p[1]);
        maxY = Math.max(maxY, p[1]);
      }
    }
    if (minX > maxX) {
      return "<p class=\"muted\">no points</p>";
    }
    if (maxX == minX) {
      maxX = minX + 1;
    }
    double pad = (maxY - minY) * 0.08 + 1e-9;
    minY -= pad;
    maxY += pad;
    double sx = (width - left - 20.0) / (maxX - minX);
    double sy = (height - bottom - 20.0) / (maxY - minY);
    StringBuilder b = new StringBuilder(svgOpen(width, height));
    axes(b, left, width, height, bottom, minX, maxX, minY, maxY, xLabel, yLabel);
    int s = 0;
    for (Map.Entry<String, List<double[]>> e : series.entrySet()) {
      String color = COLORS[s++ % COLORS.length];
      StringBuilder path = new StringBuilder();
      for (double[] p : e.getValue()) {
        double x = left + (p[0] - minX) * sx;
        double y = height - bottom - (p[1] - minY) * sy;
        path.append(path.length() == 0 ? "M" : "L").append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
        if (e.getValue().size() <= 40) {
          b.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>", x, y, color));
        }
      }
      b.append("<path d=\"").append(path).append("\" fill=\"none\" stroke=\"").append(color)
          .append("\" stroke-width=\"1.8\"/>");
    }
    if (markX != null) {
      double mx = left + (markX - minX) * sx;
      b.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"14\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" "
          + "stroke-dasharray=\"5,4\"/>", mx, mx, height - bottom, COLORS[3]));
      boolean right = mx > left + (width - left) * 0.6;
      b.append(text(right ? mx - 4 : mx + 4, 24, markLabel, right ? "end" : "start", 11, COLORS[3]));
    }
    b.append(legend(List.copyOf(series.keySet()), left, height - 8));
    return b.append("</svg>").toString();
  }

  private static void axes(StringBuilder b, int left, int width, int height, int bottom, double minX,
      double maxX, double minY, double maxY, String xLabel, String yLabel) {
    int x1 = width - 20;
    int y0 = height - bottom;
    b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>", left, y0, x1, y0));
    b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"14\" x2=\"%d\" y2=\"%d\" stroke=\"#444\"/>", left, left, y0));
    for (int i = 0; i <= 4; i++) {
      double fx = minX + (maxX - minX) * i / 4;
      double px = left + (x1 - left) * i / 4.0;
      b.append(text(px, y0 + 14, num(fx), "middle", 10, "#444"));
      double fy = minY + (maxY - minY) * i / 4;
      double py = y0 - (y0 - 14) * i / 4.0;
      b.append(text(left - 4, py + 3, num(fy), "end", 10, "#444"));
      b.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>",
          left + 1, py, x1, py));
    }
    b.append(text((left + x1) / 2.0, y0 + 28, xLabel, "middle", 11, "#222"));
    b.append(String.format(Locale.ROOT, "<text x=\"12\" y=\"%.1f\" font-size=\"11\" fill=\"#222\" "
        + "transform=\"rotate(-90 12 %.1f)\" text-anchor=\"middle\">%s</text>", (14 + y0) / 2.0, (14 + y0) / 2.0,
        esc(yLabel)));
  }

  private static String legend(List<String> names, int x, int y) {
    StringBuilder b = new StringBuilder();
    double at = x;
    for (int i = 0; i < names.size(); i++) {
      b.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>",
          at, y - 9, COLORS[i % COLORS.length]));
      b.append(text(at + 14, y, names.get(i), "start", 11, "#222"));
      at += 24 + 7 * names.get(i).length();
    }
    return b.toString();
  }

  private static String svgOpen(int width, int height) {
    return String.format(Locale.ROOT, "<svg width=\"%d\" height=\"%d\" "
        + "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">", width, height, width, height);
  }

  private static String text(double x, double y, String s, String anchor, int size, String color) {
    return String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%d\" text-anchor=\"%s\"%s>%s</text>",
        x, y, size, anchor, color == null ? "" : " fill=\"" + color + "\"", esc(s));
  }
}
