package dev.sparktune.tokenize;

import dev.sparktune.config.TemplateName;

/**
 * The Jinja chat templates the built-in names use for conversations (records with messages or a
 * system prompt). {@code chatml} is the common ChatML template; {@code llama3} is Meta-Llama-3-Instruct's
 * (BOS only when the tokenizer config names one); {@code alpaca} repeats the Instruction/Response
 * pair per turn after the system prompt (default: the Alpaca preamble) and ends each answer with EOS.
 */
final class BuiltInChatTemplates {
  private BuiltInChatTemplates() {}

  static final String CHATML = "{% for message in messages %}"
      + "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
      + "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

  static final String LLAMA3 = "{% for message in messages %}"
      + "{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'"
      + " + message['content'] | trim + '<|eot_id|>' %}"
      + "{% if loop.index0 == 0 and bos_token is defined %}{% set content = bos_token + content %}{% endif %}"
      + "{{ content }}{% endfor %}"
      + "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}";

  static final String ALPACA = "{% if messages[0]['role'] == 'system' %}{{ messages[0]['content'] + '\\n\\n' }}"
      + "{% else %}{{ 'Below is an instruction that describes a task. Write a response that appropriately"
      + " completes the request.\\n\\n' }}{% endif %}"
      + "{% for message in messages %}"
      + "{% if message['role'] == 'user' %}{{ '### Instruction:\\n' + message['content'] + '\\n\\n### Response:\\n' }}"
      + "{% elif message['role'] == 'assistant' %}{{ message['content'] + (eos_token if eos_token is defined else '')"
      + " + '\\n\\n' }}{% endif %}{% endfor %}";

  static String source(TemplateName name) {
    return switch (name) {
      case CHATML -> CHATML;
      case LLAMA3 -> LLAMA3;
      case ALPACA -> ALPACA;
      case MODEL -> throw new IllegalArgumentException("'model' is the base model's own template, not a built-in one");
    };
  }
}
