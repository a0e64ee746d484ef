package dev.sparktune.tokenize;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.sparktune.config.TemplateName;
import dev.sparktune.core.ChatMessage;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A conversation template: the base model's own Jinja {@code chat_template} (from
 * {@code chat_template.jinja} beside the tokenizer, else {@code tokenizer_config.json}), or a
 * built-in one. Renders as transformers' {@code apply_chat_template} does, with the variables it
 * passes ({@code messages}, {@code add_generation_prompt}, {@code bos_token}, {@code eos_token}, ...,
 * {@code raise_exception}).
 *
 * <p>The trained spans of a conversation are found from prefixes, which works for templates without
 * {@code {% generation %}} markers (nearly all): assistant turn {@code i} runs from the end of
 * {@code render(messages[:i], add_generation_prompt=True)} to the end of
 * {@code render(messages[:i+1])}, less the whitespace after it (the newline a template writes after
 * the end-of-turn token is never generated). A template whose renders are not prefixes of each other
 * (one that rewrites earlier turns) cannot be masked this way and fails clearly.
 */
public final class ChatTemplate implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The special-token variables transformers passes to a template when the tokenizer has them. */
  static final List<String> TOKEN_VARIABLES = List.of("bos_token", "eos_token", "unk_token", "pad_token");

  /** A rendered conversation and the character spans {@code [start, end)} of its assistant turns. */
  public record Rendered(String text, List<int[]> trained) {}

  private final String name;
  private final String source;
  private final Map<String, String> tokens;

  ChatTemplate(String name, String source, Map<String, String> tokens) {
    this.name = name;
    this.source = source;
    this.tokens = new LinkedHashMap<>(tokens);
  }

  /** Where the template came from ({@code tokenizer_config.json of DIR}, {@code built-in chatml}). */
  public String name() {
    return name;
  }

  /** The Jinja source. */
  public String source() {
    return source;
  }

  /**
   * The base model's template beside {@code tokenizerJson}: {@code chat_template.jinja}, else
   * {@code chat_template} of {@code tokenizer_config.json} (a string, or a list of named templates of
   * which {@code default} is used). Empty when the model has none.
   */
  public static Optional<ChatTemplate> ofModel(FileSystem fs, Path tokenizerJson) throws IOException {
    Path dir = tokenizerJson.getParent();
    Path configPath = new Path(dir, "tokenizer_config.json");
    JsonNode config = fs.exists(configPath) ? readJson(fs, configPath) : new ObjectMapper().createObjectNode();
    Map<String, String> tokens = specialTokens(config);
    Path jinja = new Path(dir, "chat_template.jinja");
    if (fs.exists(jinja)) {
      try (InputStream in = fs.open(jinja)) {
        return Optional.of(new ChatTemplate(jinja.toString(), new String(in.readAllBytes(), StandardCharsets.UTF_8),
            tokens));
      }
    }
    JsonNode t = config.get("chat_template");
    if (t == null || t.isNull()) {
      return Optional.empty();
    }
    if (t.isArray()) {
      for (JsonNode named : t) {
        if ("default".equals(named.path("name").asText())) {
          return Optional.of(new ChatTemplate(configPath + " (default)", named.path("template").asText(), tokens));
        }
      }
      throw new IOException(configPath + ": chat_template is a list without a 'default' entry");
    }
    return Optional.of(new ChatTemplate(configPath.toString(), t.asText(), tokens));
  }

  /** The special tokens of tokenizer_config.json beside {@code tokenizerJson} (none when it is absent). */
  public static Map<String, String> specialTokens(FileSystem fs, Path tokenizerJson) throws IOException {
    Path configPath = new Path(tokenizerJson.getParent(), "tokenizer_config.json");
    return fs.exists(configPath) ? specialTokens(readJson(fs, configPath)) : Map.of();
  }

  private static Map<String, String> specialTokens(JsonNode config) {
    Map<String, String> tokens = new LinkedHashMap<>();
    for (String key : TOKEN_VARIABLES) {
      JsonNode v = config.get(key);
      String content = v == null || v.isNull() ? null : v.isTextual() ? v.asText() : v.path("content").asText(null);
      if (content != null) {
        tokens.put(key, content);
      }
    }
    return tokens;
  }

  private static JsonNode readJson(FileSystem fs, Path p) throws IOException {
    try (InputStream in = fs.open(p)) {
      return new ObjectMapper().readTree(in);
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw new IOException(p + " is not valid JSON: " + e.getOriginalMessage(), e);
    }
  }

  /**
   * The chat template {@code template} names for the tokenizer at {@code tokenizerJson}:
   * {@code model} the model's own (failing clearly when it has none), a built-in name its Jinja form
   * with the special tokens of the tokenizer config ({@code eosToken} when that names no EOS), and
   * null for a custom template, which cannot render turns.
   */
  public static ChatTemplate resolve(FileSystem fs, Path tokenizerJson, String template, String eosToken)
      throws IOException {
    Optional<TemplateName> name = TemplateName.of(template);
    if (name.isEmpty()) {
      return null;
    }
    if (name.get() == TemplateName.MODEL) {
      return ofModel(fs, tokenizerJson).orElseThrow(() -> new IOException("template 'model' needs the base model's"
          + " chat template, but " + tokenizerJson.getParent() + " has no chat_template.jinja and no tokenizer_config.json"
          + " with a chat_template; copy them from the base model, or use a built-in template (alpaca, chatml, llama3)"));
    }
    Map<String, String> tokens = new LinkedHashMap<>(specialTokens(fs, tokenizerJson));
    if (!tokens.containsKey("eos_token") && eosToken != null) {
      tokens.put("eos_token", eosToken);
    }
    return builtIn(name.get(), tokens);
  }

  /** A built-in template for conversations under {@code tokenize.template: alpaca|chatml|llama3}. */
  public static ChatTemplate builtIn(TemplateName template, Map<String, String> tokens) {
    return new ChatTemplate("built-in " + template.key(), BuiltInChatTemplates.source(template), tokens);
  }

  /**
   * Renders a two-turn conversation once, so a template Jinjava cannot render fails the stage up
   * front, naming the template, instead of dropping every record. A template that raises on it (one
   * that wants a system message, say) is left to judge each record.
   */
  public ChatTemplate checked() throws IOException {
    try {
      renderForTraining(List.of(new ChatMessage("user", "Hello?"), new ChatMessage("assistant", "Hello.")));
    } catch (ChatTemplateException e) {
      if (!e.raised()) {
        throw new IOException("the chat template (" + name + ") cannot be rendered: " + e.getMessage());
      }
    }
    return this;
  }

  /** The conversation as the template writes it, ending with the generation prompt when asked. */
  public String render(List<ChatMessage> messages, boolean addGenerationPrompt) throws ChatTemplateException {
    Map<String, Object> vars = new LinkedHashMap<>(tokens);
    List<Map<String, Object>> list = new ArrayList<>(messages.size());
    for (ChatMessage m : messages) {
      Map<String, Object> one = new LinkedHashMap<>();
      one.put("role", m.role());
      one.put("content", m.content());
      list.add(one);
    }
    vars.put("messages", list);
    vars.put("add_generation_prompt", addGenerationPrompt);
    return JinjaEngine.render(source, vars);
  }

  /** The whole conversation and where its assistant turns are (see the class comment). */
  public Rendered renderForTraining(List<ChatMessage> messages) throws ChatTemplateException {
    String text = render(messages, false);
    List<int[]> spans = new ArrayList<>();
    for (int i = 0; i < messages.size(); i++) {
      if (!"assistant".equals(messages.get(i).role())) {
        continue;
      }
      String before = i == 0 ? "" : render(messages.subList(0, i), true);
      String through = render(messages.subList(0, i + 1), false);
      if (!through.startsWith(before) || !text.startsWith(through)) {
        throw new ChatTemplateException("the chat template (" + name + ") renders message " + i
            + " differently once later messages follow, so its assistant turns cannot be located; use a template"
            + " whose rendering of a conversation starts with the rendering of its first turns");
      }
      int start = before.length();
      int end = through.length();
      while (end > start && Character.isWhitespace(text.charAt(end - 1))) {
        end--;
      }
      spans.add(new int[] {start, end});
    }
    return new Rendered(text, spans);
  }
}
