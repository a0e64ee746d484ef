package dev.sparktune.tokenize;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * Turns a record into {@code input_ids} and {@code labels} with a base model's tokenizer.json (DJL's
 * Hugging Face tokenizers binding, loaded from a local file only): ids = encode(prompt + response)
 * with the tokenizer's own special tokens (e.g. BOS), then the EOS id appended as an id; labels are
 * the ids with -100 on the first len(encode(prompt)) positions unless inputs are trained on. Plain
 * text records are used as they are (labels = ids). For a byte-level BPE tokenizer of GPT-2's or
 * Llama 3's family, {@link ByteLevelBpe} encodes in Java the texts it is exact for, with the library's
 * ids; chat conversations, which need the tokens' character spans, always go to the library.
 */
public final class Tokenization implements AutoCloseable {
  /** The label of a position the loss ignores. */
  public static final long IGNORE = -100;

  /** One tokenized example. */
  public record Example(long[] inputIds, long[] labels, int promptLength) {}

  /** Texts longer than this are encoded in pieces cut at whitespace, so one huge document stays linear. */
  static final int PIECE_CHARS = 20_000;

  private final HuggingFaceTokenizer tokenizer;
  private final HuggingFaceTokenizer plain;
  private final long eosId;
  private final boolean trainOnInputs;
  private final PromptSplit split;
  /** Encodes in Java what it is exact for (null when it is not for this tokenizer); the library the rest. */
  private final ByteLevelBpe bpe;

  public Tokenization(Path tokenizerJson, long eosId, boolean trainOnInputs) throws IOException {
    this(tokenizerJson, eosId, trainOnInputs, null);
  }

  /**
   * With the prompt-once rule already read from the tokenizer.json (the stage reads it on the
   * driver); null reads it here.
   */
  Tokenization(Path tokenizerJson, long eosId, boolean trainOnInputs, PromptSplit split) throws IOException {
    com.fasterxml.jackson.databind.JsonNode json = new com.fasterxml.jackson.databind.ObjectMapper()
        .readTree(tokenizerJson.toFile());
    // Never HuggingFaceTokenizer.newInstance(String): that one goes to the hub.
    this.tokenizer = HuggingFaceTokenizer.newInstance(tokenizerJson, Map.of(
        "addSpecialTokens", "true", "padding", "false", "truncation", "false"));
    this.plain = HuggingFaceTokenizer.newInstance(tokenizerJson, Map.of(
        "addSpecialTokens", "false", "padding", "false", "truncation", "false"));
    this.eosId = eosId;
    this.trainOnInputs = trainOnInputs;
    this.split = split != null ? split : PromptSplit.of(json);
    this.bpe = ByteLevelBpe.of(json);
  }

  /**
   * Encodes with the tokenizer's special tokens. A text over {@link #PIECE_CHARS} is cut just before
   * whitespace into pieces (byte-level BPE and SentencePiece attach a space to the word after it, so
   * the cut does not change the tokens); the first piece gets the special tokens, the rest none.
   */
  long[] encode(String text) {
    if (text.length() <= PIECE_CHARS) {
      return batchIds(true, java.util.List.of(text))[0];
    }
    long[] out = new long[0];
    int start = 0;
    boolean first = true;
    while (start < text.length()) {
      int end = Math.min(text.length(), start + PIECE_CHARS);
      if (end < text.length()) {
        int cut = end;
        while (cut > start + PIECE_CHARS / 2 && !Character.isWhitespace(text.charAt(cut))) {
          cut--;
        }
        end = cut > start + PIECE_CHARS / 2 ? cut : end;
      }
      long[] ids = batchIds(first, java.util.List.of(text.substring(start, end)))[0];
      out = concat(out, ids);
      first = false;
      start = end;
    }
    return out;
  }

  /** The ids of {@code text} without the tokenizer's special tokens (one piece, whatever its length). */
  long[] plainIds(String text) {
    return batchIds(false, java.util.List.of(text))[0];
  }

  /**
   * What to encode: a rendered instruction example (prompt + response), or a plain text (prompt null);
   * {@code literals}: where the template's own text lies in the prompt (start, end pairs; may be empty).
   */
  public record Item(String prompt, String response, int[] literals) {
    public Item(String prompt, String response) {
      this(prompt, response, new int[0]);
    }

    static Item text(String text) {
      return new Item(null, text == null ? "" : text);
    }
  }

  /** The ids of template text seen so far (with, and without, the special tokens), encoded once per task. */
  private final java.util.List<java.util.Map<String, long[]>> literalIds = java.util.List.of(
      new java.util.HashMap<>(), new java.util.HashMap<>());
  private static final int MAX_LITERALS = 64;

  /**
   * Encodes many items with batched tokenizer calls (the Rust library works on a batch in
   * parallel); a text over {@link #PIECE_CHARS} is encoded on its own, in pieces. Where
   * {@link PromptSplit} allows, an instruction item is its prompt's ids followed by its response's
   * (the prompt encoded once), and a prompt is cut at its template text's edges into parts encoded
   * apart, the template text's parts once per task; otherwise prompt + response is encoded, and the
   * prompt again for the mask length.
   */
  public java.util.List<Example> encodeAll(java.util.List<Item> items) {
    Batch batch = new Batch();
    int[] full = new int[items.size()];
    Part[][] prompt = new Part[items.size()][];
    for (int i = 0; i < items.size(); i++) {
      Item it = items.get(i);
      String whole = it.prompt() == null ? it.response() : it.prompt() + it.response();
      if (it.prompt() != null && whole.length() <= PIECE_CHARS && split.applies(it.prompt(), it.response())) {
        full[i] = -3 - add(batch.plain, it.response());
      } else {
        full[i] = whole.length() > PIECE_CHARS ? -1 : add(batch.special, whole);
      }
      prompt[i] = it.prompt() == null || it.prompt().length() > PIECE_CHARS ? null : promptParts(it, batch);
    }
    long[][] encoded = batchIds(true, batch.special);
    long[][] encodedPlain = batchIds(false, batch.plain);
    java.util.List<Example> out = new java.util.ArrayList<>(items.size());
    for (int i = 0; i < items.size(); i++) {
      Item it = items.get(i);
      long[] promptIds = prompt[i] == null ? null : joined(prompt[i], encoded, encodedPlain);
      long[] body = full[i] >= 0 ? encoded[full[i]]
          : full[i] <= -3 ? concat(promptIds, encodedPlain[-3 - full[i]])
          : encode(it.prompt() == null ? it.response() : it.prompt() + it.response());
      int promptLength = it.prompt() == null ? 0
          : Math.min(promptIds != null ? promptIds.length : encode(it.prompt()).length, body.length);
      out.add(finish(body, promptLength, it.prompt() == null));
    }
    return out;
  }

  /** The texts of one call, to encode with and without the tokenizer's special tokens. */
  private static final class Batch {
    final java.util.List<String> special = new java.util.ArrayList<>();
    final java.util.List<String> plain = new java.util.ArrayList<>();
  }

  /**
   * One part of a prompt: its ids where already known (template text seen before), else where its
   * text is in the batch (the first part with the special tokens, the others without).
   */
  private record Part(long[] known, boolean special, int index) {}

  /** The prompt's parts, cut where {@link PromptSplit#cuts} allows (one part when nowhere). */
  private Part[] promptParts(Item it, Batch batch) {
    String p = it.prompt();
    int[] cuts = split.cuts(p, it.literals());
    Part[] parts = new Part[cuts.length + 1];
    for (int k = 0, from = 0; k <= cuts.length; k++) {
      int to = k < cuts.length ? cuts[k] : p.length();
      boolean first = from == 0;
      String text = p.substring(from, to);
      long[] known = literal(it.literals(), from, to) ? literalIds(text, first) : null;
      parts[k] = known != null ? new Part(known, first, -1)
          : new Part(null, first, add(first ? batch.special : batch.plain, text));
      from = to;
    }
    return parts;
  }

  private static long[] joined(Part[] parts, long[][] special, long[][] plain) {
    long[] out = new long[0];
    for (Part part : parts) {
      out = concat(out, part.known() != null ? part.known() : part.special() ? special[part.index()] : plain[part.index()]);
    }
    return out;
  }

  /** Whether [from, to) lies inside one span of template text. */
  private static boolean literal(int[] literals, int from, int to) {
    for (int k = 0; k + 1 < literals.length; k += 2) {
      if (literals[k] <= from && to <= literals[k + 1]) {
        return true;
      }
    }
    return false;
  }

  /** The ids of a part of template text, encoded on first sight (null once {@link #MAX_LITERALS} are kept). */
  private long[] literalIds(String text, boolean specials) {
    java.util.Map<String, long[]> seen = literalIds.get(specials ? 0 : 1);
    long[] ids = seen.get(text);
    if (ids == null && seen.size() < MAX_LITERALS) {
      ids = batchIds(specials, java.util.List.of(text))[0];
      seen.put(text, ids);
    }
    return ids;
  }

  private static long[] concat(long[] a, long[] b) {
    long[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  /**
   * The ids of a batch, with or without the tokenizer's special tokens: in Java where {@link ByteLevelBpe}
   * takes the text, the rest with the library.
   */
  private long[][] batchIds(boolean specials, java.util.List<String> batch) {
    if (bpe == null) {
      return libraryIds(specials, batch);
    }
    long[][] ids = new long[batch.size()][];
    java.util.List<String> rest = new java.util.ArrayList<>();
    for (int i = 0; i < ids.length; i++) {
      ids[i] = bpe.encode(batch.get(i), specials);
      if (ids[i] == null) {
        rest.add(batch.get(i));
      }
    }
    long[][] encoded = libraryIds(specials, rest);
    for (int i = 0, k = 0; i < ids.length; i++) {
      if (ids[i] == null) {
        ids[i] = encoded[k++];
      }
    }
    return ids;
  }

  /**
   * The ids of a batch from the library. Calls DJL's JNI binding directly and reads only the ids:
   * {@code HuggingFaceTokenizer.batchEncode} also copies every encoding's token strings, offsets,
   * type ids and masks into Java objects, which took longer than the encoding.
   */
  long[][] libraryIds(boolean specials, java.util.List<String> batch) {
    if (batch.isEmpty()) {
      return new long[0][];
    }
    long[] handles = TokenizersLibrary.LIB.batchEncode((specials ? tokenizer : plain).getHandle(),
        batch.toArray(String[]::new), specials);
    long[][] ids = new long[handles.length][];
    try {
      for (int i = 0; i < handles.length; i++) {
        ids[i] = TokenizersLibrary.LIB.getTokenIds(handles[i]);
      }
    } finally {
      for (long h : handles) {
        TokenizersLibrary.LIB.deleteEncoding(h);
      }
    }
    return ids;
  }

  private static int add(java.util.List<String> batch, String s) {
    batch.add(s);
    return batch.size() - 1;
  }

  private Example finish(long[] body, int promptLength, boolean plainText) {
    long[] ids = Arrays.copyOf(body, body.length + 1);
    ids[body.length] = eosId;
    long[] labels = ids.clone();
    if (!plainText && !trainOnInputs) {
      Arrays.fill(labels, 0, promptLength, IGNORE);
    }
    return new Example(ids, labels, plainText || trainOnInputs ? 0 : promptLength);
  }

  /** An instruction example under {@code template}. */
  public Example instruction(PromptTemplate template, String instruction, String input, String output) {
    PromptTemplate.Rendered r = template.render(instruction, input, output);
    long[] body = encode(r.prompt() + r.response());
    return finish(body, Math.min(encode(r.prompt()).length, body.length), false);
  }

  /**
   * A conversation rendered by its chat template: encoded as one text without the tokenizer's own
   * special tokens (the template writes BOS and end-of-turn tokens itself, as transformers'
   * {@code apply_chat_template} does), no EOS appended; a token is trained when its characters
   * overlap an assistant span (every token when inputs are trained on). The prompt length is the
   * position of the first trained token.
   */
  public Example conversation(ChatTemplate.Rendered rendered) {
    return conversations(java.util.List.of(rendered)).get(0);
  }

  /**
   * {@link #conversation} for many, in one batched tokenizer call; reads only the ids and the token
   * character spans from the JNI binding (DJL's {@code Encoding} copies every token string too).
   */
  public java.util.List<Example> conversations(java.util.List<ChatTemplate.Rendered> rendered) {
    java.util.List<Example> out = new java.util.ArrayList<>(rendered.size());
    if (rendered.isEmpty()) {
      return out;
    }
    String[] texts = rendered.stream().map(ChatTemplate.Rendered::text).toArray(String[]::new);
    long[] handles = TokenizersLibrary.LIB.batchEncode(plain.getHandle(), texts, false);
    try {
      for (int i = 0; i < handles.length; i++) {
        out.add(masked(rendered.get(i), TokenizersLibrary.LIB.getTokenIds(handles[i]),
            TokenizersLibrary.LIB.getTokenCharSpans(handles[i])));
      }
    } finally {
      for (long h : handles) {
        TokenizersLibrary.LIB.deleteEncoding(h);
      }
    }
    return out;
  }

  private Example masked(ChatTemplate.Rendered rendered, long[] ids, ai.djl.huggingface.tokenizers.jni.CharSpan[] spans) {
    String text = rendered.text();
    long[] labels = new long[ids.length];
    Arrays.fill(labels, IGNORE);
    // The tokenizer's offsets count code points, Java's indices UTF-16 units.
    int[][] trained = new int[rendered.trained().size()][];
    for (int k = 0; k < trained.length; k++) {
      int[] span = rendered.trained().get(k);
      trained[k] = new int[] {text.codePointCount(0, span[0]), text.codePointCount(0, span[1])};
    }
    int first = -1;
    for (int j = 0; j < ids.length; j++) {
      if (trainOnInputs || overlaps(spans[j], trained)) {
        labels[j] = ids[j];
        first = first < 0 ? j : first;
      }
    }
    return new Example(ids, labels, trainOnInputs ? 0 : Math.max(first, 0));
  }

  private static boolean overlaps(ai.djl.huggingface.tokenizers.jni.CharSpan token, int[][] trained) {
    if (token == null) {
      return false;
    }
    for (int[] t : trained) {
      if (token.getStart() < t[1] && token.getEnd() > t[0]) {
        return true;
      }
    }
    return false;
  }

  /** A plain-text example: causal LM over the whole text and its EOS. */
  public Example text(String text) {
    return finish(encode(text), 0, true);
  }

  @Override
  public void close() {
    tokenizer.close();
    plain.close();
  }
}
