package dev.sparktune.ingest.html;

import java.util.Set;
import java.util.regex.Pattern;
import org.jsoup.nodes.Element;
import org.jsoup.nodes.Node;
import org.jsoup.nodes.TextNode;

/**
 * Renders an element's visible text the way a reader sees it: whitespace collapsed inside a block,
 * a line break between blocks, a blank line between paragraphs, list items marked, {@code <pre>} kept.
 */
final class TextRenderer {
  static final Set<String> BLOCKS = Set.of("p", "div", "section", "article", "main", "header", "footer", "aside",
      "nav", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "dl", "dt", "dd", "table", "thead", "tbody",
      "tfoot", "tr", "blockquote", "pre", "figure", "figcaption", "address", "details", "summary", "form",
      "fieldset", "hr", "center", "caption", "body", "html");
  static final Set<String> PARAGRAPHS = Set.of("p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
      "table", "ul", "ol", "dl", "figure", "hr");

  private static final Pattern LIST_NUMBER = Pattern.compile("\\d+\\.");

  private final StringBuilder out = new StringBuilder();
  private final StringBuilder line = new StringBuilder();
  private int pendingBreaks;

  private TextRenderer() {}

  static String render(Element root) {
    TextRenderer r = new TextRenderer();
    r.walk(root, false);
    r.flushLine();
    return r.out.toString().strip();
  }

  private void walk(Node node, boolean pre) {
    if (node instanceof TextNode t) {
      appendText(pre ? t.getWholeText() : t.text(), pre);
      return;
    }
    if (!(node instanceof Element e)) {
      return;
    }
    String tag = e.normalName();
    if (tag.equals("br")) {
      breakLine(1);
      return;
    }
    boolean block = BLOCKS.contains(tag);
    int breaks = PARAGRAPHS.contains(tag) ? 2 : 1;
    if (block) {
      breakLine(breaks);
    }
    if (tag.equals("li")) {
      Element parent = e.parent();
      if (parent != null && parent.normalName().equals("ol")) {
        line.append(e.elementSiblingIndex() + 1).append(". ");
      } else {
        line.append("- ");
      }
    }
    if ((tag.equals("td") || tag.equals("th")) && e.elementSiblingIndex() > 0) {
      appendText(" | ", false);
    }
    boolean inPre = pre || tag.equals("pre");
    for (Node child : e.childNodes()) {
      walk(child, inPre);
    }
    if (block) {
      breakLine(breaks);
    }
  }

  private void appendText(String text, boolean pre) {
    if (text.isEmpty()) {
      return;
    }
    if (pre) {
      String[] parts = text.split("\n", -1);
      for (int i = 0; i < parts.length; i++) {
        if (i > 0) {
          flushLine();
          pendingBreaks = 1;
        }
        line.append(parts[i]);
      }
      return;
    }
    String collapsed = collapseWhitespace(text);
    boolean endsWithSpace = line.length() > 0 && line.charAt(line.length() - 1) == ' ';
    if (collapsed.startsWith(" ") && (endsWithSpace || line.length() == 0)) {
      collapsed = collapsed.substring(1);
    }
    line.append(collapsed);
  }

  /** Each run of whitespace (as regex {@code [\\s\\u00A0]}) as one space; a loop, as it runs on every text node. */
  private static String collapseWhitespace(String text) {
    StringBuilder sb = new StringBuilder(text.length());
    boolean inRun = false;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      boolean space = c == ' ' || c == '\t' || c == '\n' || c == '\u000B' || c == '\f' || c == '\r' || c == '\u00A0';
      if (!space) {
        sb.append(c);
      } else if (!inRun) {
        sb.append(' ');
      }
      inRun = space;
    }
    return sb.toString();
  }

  private void breakLine(int n) {
    flushLine();
    pendingBreaks = Math.max(pendingBreaks, n);
  }

  private void flushLine() {
    String s = line.toString().strip();
    line.setLength(0);
    if (s.isEmpty() || s.equals("-") || LIST_NUMBER.matcher(s).matches()) {
      return;
    }
    if (out.length() > 0) {
      out.append("\n".repeat(Math.max(1, pendingBreaks)));
    }
    out.append(s);
    pendingBreaks = 0;
  }
}
