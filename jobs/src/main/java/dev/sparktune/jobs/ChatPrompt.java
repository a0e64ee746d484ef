package dev.sparktune.jobs;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import dev.sparktune.core.ChatMessage;
import dev.sparktune.tokenize.ChatTemplate;
import dev.sparktune.tokenize.ChatTemplateException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;

/**
 * {@code generate --chat}: the prompt as the training data had it, rendered by the same chat template
 * with the generation prompt at the end, and encoded without added special tokens (the template
 * writes BOS itself, as transformers' apply_chat_template does).
 */
final class ChatPrompt {
  private ChatPrompt() {}

  static String render(Path model, String template, String system, String prompt) throws IOException {
    ChatTemplate chat = ChatTemplate.resolve(FileSystem.getLocal(new Configuration()), tokenizerPath(model),
        template == null ? "model" : template, null);
    if (chat == null) {
      throw new IllegalArgumentException("--chat needs a chat template: --template model, chatml, llama3 or alpaca,"
          + " not a custom one");
    }
    List<ChatMessage> messages = new ArrayList<>();
    if (system != null) {
      messages.add(new ChatMessage("system", system));
    }
    messages.add(new ChatMessage("user", prompt));
    try {
      return chat.render(messages, true);
    } catch (ChatTemplateException e) {
      throw new IllegalArgumentException("the chat template (" + chat.name() + ") refused the prompt: " + e.getMessage());
    }
  }

  /** The model's tokenizer, adding no special tokens. */
  static HuggingFaceTokenizer tokenizer(Path model) throws IOException {
    tokenizerPath(model);
    return HuggingFaceTokenizer.newInstance(model.resolve("tokenizer.json"), Map.of(
        "addSpecialTokens", "false", "padding", "false", "truncation", "false"));
  }

  /**
   * The id of the tokenizer config's EOS token (a chat model's end of turn), when it has one, as
   * {@code tok} (the model's tokenizer, adding no special tokens) encodes it.
   */
  static Set<Long> stopIds(Path model, HuggingFaceTokenizer tok) throws IOException {
    String eos = ChatTemplate.specialTokens(FileSystem.getLocal(new Configuration()), tokenizerPath(model))
        .get("eos_token");
    if (eos == null) {
      return Set.of();
    }
    long[] ids = tok.encode(eos).getIds();
    return ids.length == 1 ? Set.of(ids[0]) : Set.of();
  }

  private static org.apache.hadoop.fs.Path tokenizerPath(Path model) throws IOException {
    Path file = model.toAbsolutePath().resolve("tokenizer.json");
    if (!Files.isRegularFile(file)) {
      throw new IOException("model " + model + " has no tokenizer.json, which --chat needs");
    }
    return new org.apache.hadoop.fs.Path(file.toUri());
  }
}
