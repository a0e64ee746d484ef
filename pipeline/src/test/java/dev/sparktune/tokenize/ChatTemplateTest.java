package dev.sparktune.tokenize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.sparktune.config.TemplateName;
import dev.sparktune.core.ChatMessage;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The Jinja behaviour chat templates rely on, against what transformers' renderer (jinja2 with
 * its chat-template setup) printed for the same template and variables.
 */
class ChatTemplateTest {
  private static final List<ChatMessage> ONE = List.of(new ChatMessage("user", "  <think>x</think>\n\nanswer  "));

  private static String render(String template, List<ChatMessage> messages) throws ChatTemplateException {
    return new ChatTemplate("test", template, Map.of()).render(messages, false);
  }

  @Test
  void pythonStringMethodsAndWhitespaceControlAsJinja2() throws Exception {
    assertEquals("yes|answer  |<think>x</think>\n\nanswer|  <think>x</think>\n\nanswer|3",
        render("{% if messages[0].content.startswith('  <') %}yes{% endif %}|"
            + "{{ messages[0].content.split('</think>')[-1].lstrip('\\n') }}|{{ messages[0].content.strip() }}|"
            + "{{ messages[0]['content'].rstrip(' ') }}|{{ 'a b  c'.split() | length }}", ONE));
    assertEquals("1", render("{% set ns = namespace(i=0) %}{% for m in messages %}{% set ns.i = ns.i + 1 %}"
        + "{% endfor %}{{ ns.i }}", ONE));
    assertEquals("user:end", render("{%- for m in messages %}\n    {{- m.role + ':' }}\n{%- endfor %}\n"
        + "{{- 'end' -}}   \n", ONE));
  }

  @Test
  void tojsonWritesWhatJsonDumpsWrites() {
    Map<String, Object> tool = new java.util.LinkedHashMap<>();
    tool.put("name", "get");
    Map<String, Object> params = new java.util.LinkedHashMap<>();
    params.put("a", 1);
    params.put("b", "é<\"");
    params.put("c", java.util.Arrays.asList(true, null, 1.5));
    tool.put("parameters", params);
    assertEquals("[{\"name\": \"get\", \"parameters\": {\"a\": 1, \"b\": \"é<\\\"\", \"c\": [true, null, 1.5]}}]",
        PyStrings.json(List.of(tool), null));
    assertEquals("{\n  \"a\": [\n    1\n  ]\n}", PyStrings.json(Map.of("a", List.of(1)), 2));
  }

  @Test
  void aTemplateThatRaisesNamesItsOwnMessage() {
    ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> render(
        "{% if messages[0].role != 'system' %}{{ raise_exception('System first, please.') }}{% endif %}", ONE));
    assertEquals("System first, please.", e.getMessage());
    assertTrue(e.raised());
  }

  @Test
  void aTemplateJinjavaCannotRenderFailsUpFrontNamingIt() throws IOException {
    ChatTemplate reversed = new ChatTemplate("tokenizer_config.json of m", "{% for m in messages[::-1] %}{{ m.content }}"
        + "{% endfor %}", Map.of());
    IOException e = assertThrows(IOException.class, reversed::checked);
    assertTrue(e.getMessage().startsWith("the chat template (tokenizer_config.json of m) cannot be rendered: "),
        e.getMessage());
    ChatTemplate picky = new ChatTemplate("p", "{% if messages[0].role != 'system' %}{{ raise_exception('no') }}"
        + "{% endif %}{% for m in messages %}{{ m.content }}{% endfor %}", Map.of());
    assertEquals(picky, picky.checked(), "a template that raises judges each record instead");
  }

  @Test
  void builtInChatTemplatesRenderTurnsAndMaskOnlyTheAnswers() throws Exception {
    List<ChatMessage> chat = List.of(new ChatMessage("system", "Be terse."), new ChatMessage("user", "Hi"),
        new ChatMessage("assistant", "Hello."), new ChatMessage("user", "Bye"), new ChatMessage("assistant", "Bye."));
    ChatTemplate chatml = ChatTemplate.builtIn(TemplateName.CHATML, Map.of());
    ChatTemplate.Rendered r = chatml.renderForTraining(chat);
    assertEquals("<|im_start|>system\nBe terse.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        + "Hello.<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\nBye.<|im_end|>\n", r.text());
    assertEquals(List.of("Hello.<|im_end|>", "Bye.<|im_end|>"),
        r.trained().stream().map(s -> r.text().substring(s[0], s[1])).toList());
    ChatTemplate alpaca = ChatTemplate.builtIn(TemplateName.ALPACA, Map.of("eos_token", "</s>"));
    ChatTemplate.Rendered a = alpaca.renderForTraining(chat);
    assertTrue(a.text().startsWith("Be terse.\n\n### Instruction:\nHi\n\n### Response:\nHello.</s>\n\n"), a.text());
    assertEquals(List.of("Hello.</s>", "Bye.</s>"), a.trained().stream().map(s -> a.text().substring(s[0], s[1])).toList());
    ChatTemplate llama3 = ChatTemplate.builtIn(TemplateName.LLAMA3, Map.of());
    assertFalse(llama3.render(chat, true).contains("null"), "no BOS variable, no BOS");
    assertTrue(llama3.render(chat, true).endsWith("<|start_header_id|>assistant<|end_header_id|>\n\n"));
  }
}
