package dev.sparktune.tokenize;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * When an instruction example's ids can be had as encode(prompt) followed by encode(response)
 * without special tokens, instead of encode(prompt + response) plus encode(prompt) again for the
 * mask length: the same ids, a third fewer tokens encoded (the prompt once, not twice).
 *
 * <p>It holds for a byte-level BPE tokenizer that pre-tokenizes with GPT-2's regex (ByteLevel,
 * {@code use_regex}, no prefix space), has no normalizer, no BPE dropout, and whose post-processor
 * adds special tokens only before the text; and for a prompt that ends in exactly one newline, tab or
 * carriage return after a non-space character, followed by a response that starts with a
 * non-space character. Then the regex ends a pre-token at the prompt's end in the joined text as in
 * the prompt alone (the one whitespace character is matched by {@code \s+}, as a lone trailing one
 * is by {@code \s+(?!\S)}, and no other alternative reaches it), everything before it is split
 * alike, the response is split as on its own, and BPE works within a pre-token. Added tokens must
 * not contain whitespace or strip it on their left, so none can reach across the prompt's end.
 * Anything else is encoded twice, as before. The same kind of rules ({@link #appliesAt},
 * {@link #appliesBeforeSpace}) cut a prompt at the edges of its template's own text ({@link #cuts}).
 *
 * <p>With Llama 3's pre-tokenizer (tiktoken's cl100k pattern) it holds for a prompt that ends in
 * exactly one newline or carriage return after a non-space character: {@code [\r\n]*} ends a run of
 * symbols with that character, or {@code \s*[\r\n]+} matches it alone, and the one character that may
 * lead a word ({@code [^\r\n\p{L}\p{N}]?\p{L}+}) is never a CR or LF; a tab may, so a tab does not end
 * a prompt there. A cut before whitespace holds before a space or tab only, since a run of symbols
 * takes the line breaks after it.
 */
final class PromptSplit implements java.io.Serializable {
  private static final long serialVersionUID = 1L;
  private final boolean tokenizerFits;
  private final boolean beforeSpaceFits;
  /**
   * Llama 3's split (tiktoken's cl100k pattern) instead of GPT-2's: a tab joins the word after it
   * (any one non-letter, non-number character but CR and LF may lead a word), and CR and LF join a
   * run of symbols before them; so a cut holds after a CR or LF only, and before a space or tab only.
   */
  private final boolean llama3;

  private PromptSplit(boolean tokenizerFits, boolean beforeSpaceFits, boolean llama3) {
    this.tokenizerFits = tokenizerFits;
    this.beforeSpaceFits = beforeSpaceFits;
    this.llama3 = llama3;
  }

  /** Reads the conditions on the tokenizer from its tokenizer.json. */
  static PromptSplit of(JsonNode tokenizer) {
    boolean fits = fits(tokenizer);
    boolean llama3 = fits && ByteLevelBpe.preTokenizer(tokenizer.path("pre_tokenizer"));
    return new PromptSplit(fits, fits && noneStripsOnTheRight(tokenizer.path("added_tokens")), llama3);
  }

  /** Whether the tokenizer is one the split is exact for (see the class comment). */
  boolean tokenizerFits() {
    return tokenizerFits;
  }

  private static boolean fits(JsonNode t) {
    JsonNode model = t.path("model");
    JsonNode pre = t.path("pre_tokenizer");
    boolean bpe = "BPE".equals(model.path("type").asText()) && (model.path("dropout").isMissingNode()
        || model.path("dropout").isNull());
    boolean byteLevel = ByteLevelBpe.preTokenizer(pre) != null;
    boolean noNormalizer = t.path("normalizer").isMissingNode() || t.path("normalizer").isNull();
    return bpe && byteLevel && noNormalizer && ByteLevelBpe.prefix(t.path("post_processor")) != null
        && addedTokensStayPut(t.path("added_tokens"));
  }

  private static boolean addedTokensStayPut(JsonNode added) {
    for (JsonNode a : added) {
      String content = a.path("content").asText();
      if (a.path("lstrip").asBoolean(false) || content.isEmpty() || content.chars().anyMatch(PromptSplit::mayBeSpace)) {
        return false;
      }
    }
    return true;
  }

  /** No added token strips the whitespace after it (the condition {@link #appliesBeforeSpace} adds). */
  private static boolean noneStripsOnTheRight(JsonNode added) {
    for (JsonNode a : added) {
      if (a.path("rstrip").asBoolean(false)) {
        return false;
      }
    }
    return true;
  }

  /** Whether prompt + response may be encoded as the prompt followed by the response. */
  boolean applies(String prompt, String response) {
    int n = prompt.length();
    if (!tokenizerFits || n < 2 || response.isEmpty()) {
      return false;
    }
    return endsAtBoundary(prompt.charAt(n - 1), prompt.codePointBefore(n - 1), response.codePointAt(0));
  }

  /**
   * Whether {@code text} may be encoded as its first {@code at} characters followed by the rest (the
   * same rule as {@link #applies}, at a position inside one string: a template's lead and what follows).
   */
  boolean appliesAt(String text, int at) {
    if (!tokenizerFits || at < 2 || at >= text.length()) {
      return false;
    }
    return endsAtBoundary(text.charAt(at - 1), text.codePointBefore(at - 1), text.codePointAt(at));
  }

  private boolean endsAtBoundary(char last, int beforeLast, int next) {
    return (last == '\n' || last == '\t' && !llama3 || last == '\r') && !mayBeSpace(beforeLast) && !mayBeSpace(next);
  }

  /**
   * Whether {@code text} may be encoded as its first {@code at} characters followed by the rest when
   * the rest starts with a space, tab, newline or carriage return after a non-space character: the
   * regex's alternatives match whitespace only as their first character (the optional space before a
   * word), except the two whitespace ones, which match nothing else; so the match holding that
   * non-space character ends with it in the joined text as at the end of the first part alone, and
   * the rest is split as on its own (the regex looks ahead, never behind). An added token cannot
   * reach across (none contains whitespace), and none may strip whitespace on its right.
   */
  boolean appliesBeforeSpace(String text, int at) {
    if (!beforeSpaceFits || at < 1 || at >= text.length()) {
      return false;
    }
    char next = text.charAt(at);
    boolean breaks = next == '\n' || next == '\r';
    return (next == ' ' || next == '\t' || breaks && !llama3) && !mayBeSpace(text.codePointBefore(at));
  }

  /**
   * Where a prompt may be cut into parts encoded apart: the edges of the template's own text
   * ({@code literals}, start and end pairs) at which {@link #appliesAt} or {@link #appliesBeforeSpace}
   * holds, each part at least two characters long, so each rule reads the same characters in a part
   * as in the whole prompt.
   */
  int[] cuts(String prompt, int[] literals) {
    int[] out = new int[literals.length];
    int n = 0;
    int last = 0;
    for (int edge : literals) {
      if (edge - last >= 2 && edge <= prompt.length() - 2
          && (appliesAt(prompt, edge) || appliesBeforeSpace(prompt, edge))) {
        out[n++] = edge;
        last = edge;
      }
    }
    return java.util.Arrays.copyOf(out, n);
  }

  /**
   * True for every character the regex's {@code \s} matches (Unicode White_Space), and for more:
   * controls, format characters and anything Java calls a space, so a doubt means the slow path.
   */
  static boolean mayBeSpace(int cp) {
    return cp <= 0x20 || cp >= 0x7F && cp <= 0xA0 || Character.isWhitespace(cp) || Character.isSpaceChar(cp)
        || Character.getType(cp) == Character.FORMAT || cp == 0x180E;
  }
}
