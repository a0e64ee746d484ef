package dev.sparktune.tokenize;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A byte-level BPE tokenizer.json (GPT-2's family and Llama 3's) encoded in Java, with the same ids
 * as Hugging Face tokenizers: {@link Gpt2Split}'s or {@link Llama3Split}'s pre-tokens, each as UTF-8
 * bytes in GPT-2's byte alphabet, merged by {@link BpeMerges}, and the post-processor's special
 * tokens before the text. A pre-token of up to {@value #CACHED_CHARS} characters is merged once per
 * instance and then looked up. The Rust library, called through JNI, spent most of the tokenize
 * stage's time on the same work, and returns the same ids.
 *
 * <p>{@link #of} builds one only for a tokenizer it is exact for: a BPE model without dropout,
 * subword prefix or suffix, with all 256 byte symbols in its vocabulary; the ByteLevel
 * pre-tokenizer with its regex, or Llama 3's Split and ByteLevel, without a prefix space; no
 * normalizer; and no post-processor, the ByteLevel one, or a template whose special tokens all come
 * before the text (alone or in a Sequence with ByteLevel). {@link #encode} returns null for a text
 * it does not take (one holding an added token's text, or code points {@link Gpt2Split#admissible}
 * or {@link Llama3Split#admissible} refuses); the caller encodes those with the library.
 */
final class ByteLevelBpe {
  /** Pre-tokens kept with their ids; past this many the cache starts again. */
  private static final int CACHE_WORDS = 1 << 16;
  /** Longer pre-tokens (runs of symbols, encoded blobs) are merged each time: the cache stays small (~25 MB at most). */
  private static final int CACHED_CHARS = 48;

  private final BpeMerges merges;
  private final int[] byteIds;
  private final Map<String, Integer> vocab;
  private final boolean ignoreMerges;
  private final long[] prefix;
  private final String[] added;
  /** Llama 3's split (else GPT-2's). */
  private final boolean llama3;
  private final Map<String, int[]> cache = new HashMap<>();
  private int[] ids = new int[256];

  private ByteLevelBpe(BpeMerges merges, int[] byteIds, Map<String, Integer> vocab, boolean ignoreMerges,
      long[] prefix, String[] added, boolean llama3) {
    this.llama3 = llama3;
    this.merges = merges;
    this.byteIds = byteIds;
    this.vocab = vocab;
    this.ignoreMerges = ignoreMerges;
    this.prefix = prefix;
    this.added = added;
  }

  /** The encoder for {@code tokenizer}, or null where it is not exact for it (see the class comment). */
  static ByteLevelBpe of(JsonNode tokenizer) {
    JsonNode model = tokenizer.path("model");
    Boolean llama3 = preTokenizer(tokenizer.path("pre_tokenizer"));
    boolean fits = "BPE".equals(model.path("type").asText()) && absent(model.path("dropout"))
        && absent(model.path("continuing_subword_prefix")) && absent(model.path("end_of_word_suffix"))
        && !model.path("byte_fallback").asBoolean(false) && llama3 != null && absent(tokenizer.path("normalizer"));
    long[] prefix = fits ? prefix(tokenizer.path("post_processor")) : null;
    if (prefix == null) {
      return null;
    }
    Map<String, Integer> vocab = new HashMap<>();
    model.path("vocab").fields().forEachRemaining(e -> vocab.put(e.getKey(), e.getValue().asInt()));
    int[] byteIds = new int[256];
    for (int b = 0; b < 256; b++) {
      Integer id = vocab.get(String.valueOf(ALPHABET[b]));
      if (id == null) {
        return null;
      }
      byteIds[b] = id;
    }
    BpeMerges merges = BpeMerges.of(model.path("merges"), vocab);
    if (merges == null) {
      return null;
    }
    List<String> added = new ArrayList<>();
    tokenizer.path("added_tokens").forEach(a -> added.add(a.path("content").asText()));
    return new ByteLevelBpe(merges, byteIds, vocab, model.path("ignore_merges").asBoolean(false), prefix,
        added.toArray(String[]::new), llama3);
  }

  /**
   * Which split the pre-tokenizer makes: false for ByteLevel with GPT-2's regex, true for Llama 3's
   * (a Split with {@link Llama3Split#PATTERN}, Isolated, then ByteLevel without its regex); null for
   * anything else. Neither may add a prefix space.
   */
  static Boolean preTokenizer(JsonNode pre) {
    if (byteLevel(pre, true)) {
      return false;
    }
    JsonNode steps = pre.path("pretokenizers");
    if (!"Sequence".equals(pre.path("type").asText()) || steps.size() != 2) {
      return null;
    }
    JsonNode split = steps.get(0);
    boolean llama3 = "Split".equals(split.path("type").asText())
        && Llama3Split.PATTERN.equals(split.path("pattern").path("Regex").asText(null))
        && "Isolated".equals(split.path("behavior").asText()) && !split.path("invert").asBoolean(false)
        && byteLevel(steps.get(1), false);
    return llama3 ? true : null;
  }

  private static boolean byteLevel(JsonNode pre, boolean regex) {
    return "ByteLevel".equals(pre.path("type").asText()) && !pre.path("add_prefix_space").asBoolean(false)
        && pre.path("use_regex").asBoolean(true) == regex;
  }

  private static boolean absent(JsonNode node) {
    return node.isMissingNode() || node.isNull();
  }

  /**
   * The ids the post-processor puts before the text (none for no post-processor or the ByteLevel
   * one, which changes offsets only), or null for any other post-processor, a template with anything
   * after the text, or a Sequence of anything but ByteLevel steps and at most one such template.
   * {@link PromptSplit} holds for the same post-processors.
   */
  static long[] prefix(JsonNode post) {
    if (absent(post) || "ByteLevel".equals(post.path("type").asText())) {
      return new long[0];
    }
    if ("Sequence".equals(post.path("type").asText())) {
      long[] out = new long[0];
      int templates = 0;
      for (JsonNode step : post.path("processors")) {
        boolean template = "TemplateProcessing".equals(step.path("type").asText());
        if (!template && !"ByteLevel".equals(step.path("type").asText()) || template && ++templates > 1) {
          return null;
        }
        out = template ? prefix(step) : out;
        if (out == null) {
          return null;
        }
      }
      return out;
    }
    JsonNode single = post.path("single");
    if (!"TemplateProcessing".equals(post.path("type").asText()) || !single.isArray() || single.isEmpty()
        || !single.get(single.size() - 1).has("Sequence")) {
      return null;
    }
    List<Long> ids = new ArrayList<>();
    for (int i = 0; i < single.size() - 1; i++) {
      if (!single.get(i).has("SpecialToken")) {
        return null;
      }
      JsonNode special = post.path("special_tokens").path(single.get(i).path("SpecialToken").path("id").asText());
      if (!special.path("ids").isArray() || special.path("ids").isEmpty()) {
        return null;
      }
      special.path("ids").forEach(id -> ids.add(id.asLong()));
    }
    return ids.stream().mapToLong(Long::longValue).toArray();
  }

  /** GPT-2's map of bytes to characters: printable Latin-1 bytes stand for themselves, the rest from U+0100 on. */
  private static char[] alphabet() {
    char[] out = new char[256];
    int n = 0;
    for (int b = 0; b < 256; b++) {
      boolean printable = b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE;
      out[b] = printable ? (char) b : (char) (256 + n++);
    }
    return out;
  }

  /**
   * The ids of {@code text}, with the post-processor's special tokens before it when {@code specials};
   * null when the library must encode it (see the class comment).
   */
  long[] encode(String text, boolean specials) {
    if (!(llama3 ? Llama3Split.admissible(text) : Gpt2Split.admissible(text)) || holdsAddedToken(text)) {
      return null;
    }
    int size = 0;
    for (int i = 0, n = text.length(); i < n; ) {
      int end = llama3 ? Llama3Split.end(text, i) : Gpt2Split.end(text, i);
      int[] word = word(text.substring(i, end));
      if (size + word.length > ids.length) {
        ids = Arrays.copyOf(ids, Math.max(ids.length * 2, size + word.length));
      }
      System.arraycopy(word, 0, ids, size, word.length);
      size += word.length;
      i = end;
    }
    long[] out = new long[(specials ? prefix.length : 0) + size];
    int at = 0;
    if (specials) {
      System.arraycopy(prefix, 0, out, 0, prefix.length);
      at = prefix.length;
    }
    for (int k = 0; k < size; k++) {
      out[at + k] = ids[k];
    }
    return out;
  }

  private boolean holdsAddedToken(String text) {
    for (String a : added) {
      if (!a.isEmpty() && text.contains(a)) {
        return true;
      }
    }
    return false;
  }

  /** A pre-token's ids, from the cache or merged. */
  private int[] word(String word) {
    int[] cached = cache.get(word);
    if (cached != null) {
      return cached;
    }
    byte[] bytes = word.getBytes(StandardCharsets.UTF_8);
    int[] out = null;
    if (ignoreMerges) {
      char[] chars = new char[bytes.length];
      char[] alphabet = ALPHABET;
      for (int k = 0; k < bytes.length; k++) {
        chars[k] = alphabet[bytes[k] & 0xFF];
      }
      Integer id = vocab.get(new String(chars));
      out = id == null ? null : new int[] {id};
    }
    if (out == null) {
      int[] symbols = new int[bytes.length];
      for (int k = 0; k < bytes.length; k++) {
        symbols[k] = byteIds[bytes[k] & 0xFF];
      }
      out = merges.apply(symbols);
    }
    if (word.length() <= CACHED_CHARS) {
      if (cache.size() >= CACHE_WORDS) {
        cache.clear();
      }
      cache.put(word, out);
    }
    return out;
  }

  private static final char[] ALPHABET = alphabet();
}
