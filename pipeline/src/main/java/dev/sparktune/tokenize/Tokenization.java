package dev.sparktune.tokenize;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * Turns a record into {@code input_ids} and {@code labels} with a base model's tokenizer.json (DJL's
 * Hugging Face tokenizers binding, loaded from a local file only): ids = encode(prompt + response)
 * with the tokenizer's own special tokens (e.g. BOS), then the EOS id appended as an id; labels are
 * the ids with -100 on the first len(encode(prompt)) positions unless inputs are trained on. Plain
 * text records are used as they are (labels = ids).
 */
public final class Tokenization implements AutoCloseable {
  /** The label of a position the loss ignores. */
  public static final long IGNORE = -100;

  /** One tokenized example. */
  public record Example(long[] inputIds, long[] labels, int promptLength) {}

  private final HuggingFaceTokenizer tokenizer;
  private final long eosId;
  private final boolean trainOnInputs;

  public Tokenization(Path tokenizerJson, long eosId, boolean trainOnInputs) throws IOException {
    // Never HuggingFaceTokenizer.newInstance(String): that one goes to the hub.
    this.tokenizer = HuggingFaceTokenizer.newInstance(tokenizerJson, Map.of(
        "addSpecialTokens", "true", "padding", "false", "truncation", "false"));
    this.eosId = eosId;
    this.trainOnInputs = trainOnInputs;
  }

  long[] encode(String text) {
    Encoding e = tokenizer.encode(text);
    return e.getIds();
  }

  /** An instruction example under {@code template}. */
  public Example instruction(PromptTemplate template, String instruction, String input, String output) {
    PromptTemplate.Rendered r = template.render(instruction, input, output);
    long[] body = encode(r.prompt() + r.response());
    int promptLength = Math.min(encode(r.prompt()).length, body.length);
    long[] ids = Arrays.copyOf(body, body.length + 1);
    ids[body.length] = eosId;
    long[] labels = ids.clone();
    if (!trainOnInputs) {
      Arrays.fill(labels, 0, promptLength, IGNORE);
    }
    return new Example(ids, labels, trainOnInputs ? 0 : promptLength);
  }

  /** A plain-text example: causal LM over the whole text and its EOS. */
  public Example text(String text) {
    long[] body = encode(text);
    long[] ids = Arrays.copyOf(body, body.length + 1);
    ids[body.length] = eosId;
    return new Example(ids, ids.clone(), 0);
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
