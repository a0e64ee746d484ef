package dev.sparktune.tokenize;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.lib.tag.Tag;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;
import java.time.ZonedDateTime;
import java.util.Map;
import jinjava.javax.el.CompositeELResolver;

/**
 * Renders Hugging Face chat templates (Jinja) with HubSpot's Jinjava set up to behave like
 * transformers' renderer: {@code trim_blocks} and {@code lstrip_blocks}, strict {@code {%- -%}} and
 * {@code {{- -}}} whitespace control, {@code raise_exception(msg)}, {@code strftime_now(fmt)}, a
 * {@code tojson} filter that writes what Python's {@code json.dumps} writes, Python's string methods
 * ({@link PyStrings}), and the {@code {% generation %}} block (rendered as its content). One engine
 * per JVM: Jinjava is thread-safe and not serializable.
 */
final class JinjaEngine {
  private static volatile Jinjava engine;

  private JinjaEngine() {}

  /** Per thread: templates parsed once, and one copy of the global context (filters, functions, tags). */
  private static final ThreadLocal<Map<String, Node>> PARSED = ThreadLocal.withInitial(java.util.HashMap::new);
  private static final ThreadLocal<Context> GLOBALS = ThreadLocal.withInitial(() -> engine().getGlobalContextCopy());

  /**
   * Renders {@code template} with {@code variables}; fails on any error, with the template's own
   * message. Does what {@code Jinjava.renderForResult} does (a fresh context and interpreter per
   * call, the same trailing-newline rule) except that the global context is copied once per thread
   * and reset after each render rather than copied per render, and the parsed template is reused:
   * together 6 times faster on chat templates, where the copy was most of the time.
   */
  static String render(String template, Map<String, ?> variables) throws ChatTemplateException {
    Jinjava j = engine();
    JinjavaConfig config = j.getGlobalConfig();
    Context globals = GLOBALS.get();
    Context context = new Context(globals, variables, config.getDisabled());
    JinjavaInterpreter interpreter = config.getInterpreterFactory().newInstance(j, context, config);
    JinjavaInterpreter.pushCurrent(interpreter);
    try {
      Node node = PARSED.get().get(template);
      if (node == null) {
        node = interpreter.parse(template);
        if (interpreter.getErrors().isEmpty()) {
          PARSED.get().put(template, node);
        }
      }
      String output = interpreter.render(node, true);
      for (TemplateError e : interpreter.getErrors()) {
        if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
          throw new ChatTemplateException(messageOf(e), rootCause(e) instanceof Raised);
        }
      }
      return !config.isKeepTrailingNewline() && output.endsWith("\n") ? output.substring(0, output.length() - 1)
          : output;
    } finally {
      JinjavaInterpreter.popCurrent();
      globals.reset(); // what a render recorded (resolved expressions and values) goes with it
    }
  }

  private static Throwable rootCause(TemplateError e) {
    Throwable root = e.getException();
    while (root != null && root.getCause() != null) {
      root = root.getCause();
    }
    return root;
  }

  private static String messageOf(TemplateError e) {
    Throwable root = rootCause(e);
    if (root instanceof Raised) {
      return root.getMessage();
    }
    String where = e.getLineno() > 0 ? " (template line " + e.getLineno() + ")" : "";
    return "chat template error" + where + ": " + e.getMessage();
  }

  /** What {@code raise_exception} throws; its message is the template's. */
  static final class Raised extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Raised(String message) {
      super(message);
    }
  }

  /** {@code raise_exception(message)}. */
  public static Object raiseException(String message) {
    throw new Raised(message);
  }

  /**
   * {@code strftime_now(format)}: the current local time in a Python strftime format. Set the
   * system property {@code sparktune.chat.now} (ISO date-time) to render with a fixed clock.
   */
  public static String strftimeNow(String format) {
    String fixed = System.getProperty("sparktune.chat.now");
    ZonedDateTime now = fixed == null ? ZonedDateTime.now() : ZonedDateTime.parse(fixed);
    return PyStrings.strftime(now, format);
  }

  private static Jinjava engine() {
    Jinjava e = engine;
    if (e == null) {
      synchronized (JinjaEngine.class) {
        e = engine;
        if (e == null) {
          e = create();
          engine = e;
        }
      }
    }
    return e;
  }

  private static Jinjava create() {
    CompositeELResolver resolver = new CompositeELResolver();
    resolver.add(new PyStrings.Resolver());
    resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_WRITE);
    JinjavaConfig config = JinjavaConfig.newBuilder()
        .withTrimBlocks(true)
        .withLstripBlocks(true)
        .withElResolver(resolver)
        .withLegacyOverrides(LegacyOverrides.newBuilder()
            .withUseTrimmingForNotesAndExpressions(true)
            .withParseWhitespaceControlStrictly(true)
            .build())
        .build();
    Jinjava j = new Jinjava(config);
    j.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception", JinjaEngine.class,
        "raiseException", String.class));
    j.getGlobalContext().registerFunction(new ELFunctionDefinition("", "strftime_now", JinjaEngine.class,
        "strftimeNow", String.class));
    j.getGlobalContext().registerFilter(new ToJson());
    j.getGlobalContext().registerTag(new Generation());
    return j;
  }

  /** {@code x | tojson} as transformers defines it: {@code json.dumps(x, ensure_ascii=False)}, optional indent. */
  static final class ToJson implements Filter {
    @Override
    public String getName() {
      return "tojson";
    }

    @Override
    public Object filter(Object value, JinjavaInterpreter interpreter, String... args) {
      Integer indent = args.length > 0 && args[0] != null && !args[0].isBlank() ? Integer.valueOf(args[0].trim()) : null;
      return PyStrings.json(value, indent);
    }

    @Override
    public Object filter(Object value, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
      Object indent = kwargs.containsKey("indent") ? kwargs.get("indent") : args.length > 0 ? args[0] : null;
      return PyStrings.json(value, indent == null ? null : Integer.valueOf(indent.toString().trim()));
    }
  }

  /** {@code {% generation %}...{% endgeneration %}}: rendered as its content; the mask comes from prefixes. */
  static final class Generation implements Tag {
    private static final long serialVersionUID = 1L;

    @Override
    public String getName() {
      return "generation";
    }

    @Override
    public String getEndTagName() {
      return "endgeneration";
    }

    @Override
    public String interpret(TagNode tagNode, JinjavaInterpreter interpreter) {
      StringBuilder out = new StringBuilder();
      for (Node child : tagNode.getChildren()) {
        out.append(child.render(interpreter).getValue());
      }
      return out.toString();
    }
  }
}
