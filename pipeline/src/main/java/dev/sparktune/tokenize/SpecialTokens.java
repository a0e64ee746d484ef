package dev.sparktune.tokenize;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Finds the EOS id of a base model's tokenizer: {@code eos_token} of tokenizer_config.json or
 * special_tokens_map.json beside the tokenizer, looked up in tokenizer.json; else
 * {@code eos_token_id} of the model's config.json; else the first of the usual EOS tokens the
 * tokenizer has. Fails clearly when none is found (set tokenize.eos_id).
 */
final class SpecialTokens {
  private static final List<String> USUAL_EOS = List.of("</s>", "<|endoftext|>", "<|eot_id|>", "<|im_end|>", "<eos>");

  private SpecialTokens() {}

  static long eosId(FileSystem fs, Path tokenizer, byte[] tokenizerJson) throws IOException {
    return eosId(fs, tokenizer, new ObjectMapper().readTree(tokenizerJson));
  }

  /** {@link #eosId(FileSystem, Path, byte[])} with tokenizer.json already parsed. */
  static long eosId(FileSystem fs, Path tokenizer, JsonNode tok) throws IOException {
    ObjectMapper json = new ObjectMapper();
    for (String name : List.of("tokenizer_config.json", "special_tokens_map.json")) {
      Path p = new Path(tokenizer.getParent(), name);
      if (fs.exists(p)) {
        try (InputStream in = fs.open(p)) {
          JsonNode eos = json.readTree(in).get("eos_token");
          String content = eos == null ? null : eos.isTextual() ? eos.asText() : eos.path("content").asText(null);
          Long id = content == null ? null : idOf(tok, content);
          if (id != null) {
            return id;
          }
        }
      }
    }
    Path config = new Path(tokenizer.getParent(), "config.json");
    if (fs.exists(config)) {
      try (InputStream in = fs.open(config)) {
        JsonNode id = json.readTree(in).get("eos_token_id");
        if (id != null && id.isNumber()) {
          return id.asLong();
        }
        if (id != null && id.isArray() && !id.isEmpty()) {
          return id.get(0).asLong();
        }
      }
    }
    for (String candidate : USUAL_EOS) {
      Long id = idOf(tok, candidate);
      if (id != null) {
        return id;
      }
    }
    throw new IOException("cannot tell the EOS token of " + tokenizer + ": no tokenizer_config.json eos_token and none"
        + " of " + USUAL_EOS + " in the vocabulary; set tokenize.eos_id");
  }

  /** The token with id {@code id} (an added token or a vocabulary entry), or null. */
  static String tokenOf(JsonNode tokenizer, long id) {
    for (JsonNode added : tokenizer.path("added_tokens")) {
      if (added.path("id").asLong(-1) == id) {
        return added.path("content").asText();
      }
    }
    var fields = tokenizer.path("model").path("vocab").fields();
    while (fields.hasNext()) {
      var e = fields.next();
      if (e.getValue().isNumber() && e.getValue().asLong() == id) {
        return e.getKey();
      }
    }
    return null;
  }

  static Long idOf(JsonNode tokenizer, String token) {
    for (JsonNode added : tokenizer.path("added_tokens")) {
      if (token.equals(added.path("content").asText())) {
        return added.path("id").asLong();
      }
    }
    JsonNode id = tokenizer.path("model").path("vocab").get(token);
    return id == null || !id.isNumber() ? null : id.asLong();
  }
}
