package dev.sparktune.tokenize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where the EOS id comes from, in order: tokenizer_config.json, special_tokens_map.json, config.json, the vocabulary. */
class SpecialTokensTest {
  @TempDir Path dir;

  long eos() throws IOException {
    Path tok = dir.resolve("tokenizer.json");
    FileSystem fs = FileSystem.getLocal(new Configuration());
    return SpecialTokens.eosId(fs, new org.apache.hadoop.fs.Path(tok.toUri()), Files.readAllBytes(tok));
  }

  @Test
  void lookupOrder() throws IOException {
    Files.writeString(dir.resolve("tokenizer.json"), """
        {"added_tokens": [{"id": 0, "content": "<unk>"}, {"id": 2, "content": "</s>"}, {"id": 7, "content": "<|im_end|>"}],
         "model": {"type": "BPE", "vocab": {"a": 10}}}
        """);
    assertEquals(2, eos(), "a usual EOS token in the vocabulary");
    Files.writeString(dir.resolve("config.json"), "{\"eos_token_id\": [5, 6]}");
    assertEquals(5, eos(), "config.json eos_token_id (first of a list)");
    Files.writeString(dir.resolve("special_tokens_map.json"), "{\"eos_token\": {\"content\": \"<|im_end|>\"}}");
    assertEquals(7, eos(), "special_tokens_map.json wins over config.json");
    Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\": \"</s>\"}");
    assertEquals(2, eos(), "tokenizer_config.json first");
  }

  @Test
  void noEosIsAClearError() throws IOException {
    Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 1}}}");
    IOException e = assertThrows(IOException.class, this::eos);
    assertTrue(e.getMessage().contains("set tokenize.eos_id"), e.getMessage());
  }
}
