package dev.sparktune.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The BERT WordPiece tokenizer of a Hugging Face {@code tokenizer.json} (BertNormalizer with
 * lower-casing and accent stripping, BertPreTokenizer, WordPiece with {@code ##} continuations,
 * {@code [CLS] ... [SEP]}), enough for sentence-embedding models such as all-MiniLM-L6-v2.
 */
public final class BertWordPiece {
  private final Map<String, Integer> vocab = new HashMap<>();
  private final int unk;
  private final int cls;
  private final int sep;
  private final int maxLength;
  private final int maxCharsPerWord;

  public BertWordPiece(InputStream tokenizerJson, int maxLength) throws IOException {
    JsonNode root = new ObjectMapper().readTree(tokenizerJson);
    JsonNode model = root.get("model");
    if (model == null || !"WordPiece".equals(model.path("type").asText())) {
      throw new IOException("not a WordPiece tokenizer.json");
    }
    Iterator<Map.Entry<String, JsonNode>> it = model.get("vocab").fields();
    while (it.hasNext()) {
      Map.Entry<String, JsonNode> e = it.next();
      vocab.put(e.getKey(), e.getValue().asInt());
    }
    this.unk = id(model.path("unk_token").asText("[UNK]"));
    this.cls = id("[CLS]");
    this.sep = id("[SEP]");
    this.maxCharsPerWord = model.path("max_input_chars_per_word").asInt(100);
    this.maxLength = maxLength;
  }

  private int id(String token) throws IOException {
    Integer id = vocab.get(token);
    if (id == null) {
      throw new IOException("token " + token + " missing from the vocabulary");
    }
    return id;
  }

  /** Token ids with [CLS] and [SEP], truncated to the maximum length. */
  public long[] encode(String text) {
    List<Long> ids = new ArrayList<>();
    ids.add((long) cls);
    for (String word : preTokenize(normalize(text == null ? "" : text))) {
      wordPiece(word, ids);
      if (ids.size() >= maxLength - 1) {
        break;
      }
    }
    while (ids.size() > maxLength - 1) {
      ids.remove(ids.size() - 1);
    }
    ids.add((long) sep);
    long[] out = new long[ids.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = ids.get(i);
    }
    return out;
  }

  static String normalize(String text) {
    StringBuilder sb = new StringBuilder(text.length());
    for (int i = 0; i < text.length(); ) {
      int cp = text.codePointAt(i);
      i += Character.charCount(cp);
      if (cp == 0 || cp == 0xFFFD || (Character.isISOControl(cp) && cp != '\t' && cp != '\n' && cp != '\r')) {
        continue;
      }
      if (Character.isWhitespace(cp) || Character.getType(cp) == Character.SPACE_SEPARATOR) {
        sb.append(' ');
      } else if (isChinese(cp)) {
        sb.append(' ').appendCodePoint(cp).append(' ');
      } else {
        sb.appendCodePoint(cp);
      }
    }
    String lower = sb.toString().toLowerCase(java.util.Locale.ROOT);
    String nfd = Normalizer.normalize(lower, Normalizer.Form.NFD);
    StringBuilder out = new StringBuilder(nfd.length());
    for (int i = 0; i < nfd.length(); i++) {
      char c = nfd.charAt(i);
      if (Character.getType(c) != Character.NON_SPACING_MARK) {
        out.append(c);
      }
    }
    return out.toString();
  }

  private static boolean isChinese(int cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) || (cp >= 0x20000 && cp <= 0x2A6DF)
        || (cp >= 0x2A700 && cp <= 0x2B73F) || (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF)
        || (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
  }

  static boolean isPunctuation(int cp) {
    if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) {
      return true;
    }
    int t = Character.getType(cp);
    return t == Character.CONNECTOR_PUNCTUATION || t == Character.DASH_PUNCTUATION || t == Character.START_PUNCTUATION
        || t == Character.END_PUNCTUATION || t == Character.INITIAL_QUOTE_PUNCTUATION
        || t == Character.FINAL_QUOTE_PUNCTUATION || t == Character.OTHER_PUNCTUATION;
  }

  static List<String> preTokenize(String text) {
    List<String> out = new ArrayList<>();
    StringBuilder word = new StringBuilder();
    for (int i = 0; i < text.length(); ) {
      int cp = text.codePointAt(i);
      i += Character.charCount(cp);
      if (Character.isWhitespace(cp)) {
        flush(word, out);
      } else if (isPunctuation(cp)) {
        flush(word, out);
        out.add(new String(Character.toChars(cp)));
      } else {
        word.appendCodePoint(cp);
      }
    }
    flush(word, out);
    return out;
  }

  private static void flush(StringBuilder word, List<String> out) {
    if (word.length() > 0) {
      out.add(word.toString());
      word.setLength(0);
    }
  }

  private void wordPiece(String word, List<Long> ids) {
    if (word.codePointCount(0, word.length()) > maxCharsPerWord) {
      ids.add((long) unk);
      return;
    }
    List<Long> pieces = new ArrayList<>();
    int start = 0;
    while (start < word.length()) {
      int end = word.length();
      Integer found = null;
      while (start < end) {
        String sub = (start > 0 ? "##" : "") + word.substring(start, end);
        found = vocab.get(sub);
        if (found != null) {
          break;
        }
        end--;
        if (end > start && Character.isLowSurrogate(word.charAt(end))) {
          end--;
        }
      }
      if (found == null) {
        ids.add((long) unk);
        return;
      }
      pieces.add((long) found);
      start = end;
    }
    ids.addAll(pieces);
  }
}
