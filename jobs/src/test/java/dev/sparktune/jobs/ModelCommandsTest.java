package dev.sparktune.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** init-model, score, generate and merge as a user runs them (working directory: repo root). */
class ModelCommandsTest {
  static final String GOLDEN = "pipeline/src/test/resources/golden/llama";
  static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void initModelThenScoreAndGenerate(@TempDir Path tmp) throws Exception {
    Path model = tmp.resolve("tiny");
    Cli.Result init = Cli.run("init-model", "--arch", "llama", "--hidden", "64", "--layers", "2",
        "--heads", "4", "--kv-heads", "2", "--tokenizer", "conf/samples/tokenizer/tokenizer.json",
        "--out", model.toString(), "--seed", "5");
    assertEquals(0, init.code(), init.err());
    assertTrue(init.out().contains("vocab 512"), init.out());
    JsonNode config = JSON.readTree(model.resolve("config.json").toFile());
    assertEquals(2, config.get("num_key_value_heads").asInt());
    assertEquals(2, config.get("eos_token_id").asInt());
    assertTrue(Files.exists(model.resolve("model.safetensors")));
    assertTrue(Files.exists(model.resolve("tokenizer.json")));

    Cli.Result score = Cli.run("score", "--model", model.toString(), "--text", "Reset your password");
    assertEquals(0, score.code(), score.err());
    JsonNode s = JSON.readTree(score.out());
    assertEquals(1, s.get("ids").get(0).asInt(), "the tokenizer's BOS comes first");
    assertEquals(s.get("ids").size(), s.get("logprobs").size());
    assertTrue(s.get("logprobs").get(0).isNull());
    double sum = 0;
    for (int i = 1; i < s.get("logprobs").size(); i++) {
      double lp = s.get("logprobs").get(i).asDouble();
      assertTrue(lp < 0, "a log-probability is negative");
      sum -= lp;
    }
    double meanNll = sum / (s.get("ids").size() - 1);
    assertEquals(meanNll, s.get("mean_nll").asDouble(), 1e-9);
    assertEquals(Math.exp(meanNll), s.get("perplexity").asDouble(), 1e-6 * Math.exp(meanNll));

    String[] greedy = {"generate", "--model", model.toString(), "--prompt", "How do I export data?",
        "--template", "alpaca", "--max-new-tokens", "16", "--temperature", "0"};
    Cli.Result first = Cli.run(greedy);
    Cli.Result second = Cli.run(greedy);
    assertEquals(0, first.code(), first.err());
    assertFalse(first.out().isBlank());
    assertEquals(first.out(), second.out(), "greedy generation is deterministic");

    // --chat: the model's own chat template (copied beside the tokenizer by init-model), as training renders it.
    assertTrue(Files.exists(model.resolve("tokenizer_config.json")), "the chat template travels with the tokenizer");
    Cli.Result chat = Cli.run("generate", "--model", model.toString(), "--chat", "--system", "Be brief.",
        "--prompt", "Hi", "--max-new-tokens", "4", "--show-prompt");
    assertEquals(0, chat.code(), chat.err());
    assertTrue(chat.err().contains("<|system|>\nBe brief.</s>\n<|user|>\nHi</s>\n<|assistant|>\n"), chat.err());
    Cli.Result builtIn = Cli.run("generate", "--model", model.toString(), "--chat", "--template", "chatml",
        "--prompt", "Hi", "--max-new-tokens", "2", "--show-prompt");
    assertTrue(builtIn.err().contains("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"), builtIn.err());
    Cli.Result noSystem = Cli.run("generate", "--model", model.toString(), "--system", "x", "--prompt", "Hi");
    assertEquals(2, noSystem.code());
    assertTrue(noSystem.err().contains("--system needs --chat"), noSystem.err());
  }

  @Test
  void mergeGivesTheScoresOfTheAdaptedModel(@TempDir Path tmp) throws Exception {
    Path merged = tmp.resolve("merged");
    Cli.Result merge = Cli.run("merge", "--model", GOLDEN + "/model", "--adapter", GOLDEN + "/adapter",
        "--out", merged.toString());
    assertEquals(0, merge.code(), merge.err());
    String ids = "1,40,41,42,43,44";
    JsonNode adapted = JSON.readTree(Cli.run("score", "--model", GOLDEN + "/model", "--adapter",
        GOLDEN + "/adapter", "--ids", ids).out());
    JsonNode plain = JSON.readTree(Cli.run("score", "--model", GOLDEN + "/model", "--ids", ids).out());
    JsonNode mergedScore = JSON.readTree(Cli.run("score", "--model", merged.toString(), "--ids", ids).out());
    for (int i = 1; i < 6; i++) {
      assertEquals(adapted.get("logprobs").get(i).asDouble(), mergedScore.get("logprobs").get(i).asDouble(),
          1e-4, "position " + i);
    }
    assertTrue(Math.abs(adapted.get("mean_nll").asDouble() - plain.get("mean_nll").asDouble()) > 1e-4,
        "the golden adapter changes the scores");
  }

  @Test
  void badInputsGetClearErrors(@TempDir Path tmp) {
    Cli.Result missing = Cli.run("score", "--model", tmp.resolve("nope").toString(), "--ids", "1,2");
    assertEquals(2, missing.code()); // a usage error: the option names no model directory
    assertTrue(missing.err().contains("--model " + tmp.resolve("nope") + " is not a Hugging Face model directory "
        + "(no config.json)"), missing.err());

    Cli.Result outside = Cli.run("score", "--model", GOLDEN + "/model", "--ids", "1,999");
    assertEquals(2, outside.code());
    assertTrue(outside.err().contains("token id 999 at position 1 is outside the vocabulary"), outside.err());

    Cli.Result noAdapter = Cli.run("merge", "--model", GOLDEN + "/model", "--adapter", tmp.toString(),
        "--out", tmp.resolve("out").toString());
    assertEquals(2, noAdapter.code());
    assertTrue(noAdapter.err().contains("--adapter " + tmp + " is not a PEFT adapter directory (no adapter_config.json)"),
        noAdapter.err());
  }
}
