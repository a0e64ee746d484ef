package dev.sparktune.config;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.SequenceNode;
import org.yaml.snakeyaml.nodes.Tag;

/**
 * A parsed YAML document as plain maps, lists and string scalars, remembering where each key came
 * from (file and line, or the {@code --set} that replaced it) so errors can point at it.
 */
public final class ConfigTree {
  private static final Pattern ENV = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?}");

  private Object root;
  private final Map<String, String> origins = new HashMap<>();
  private final String source;

  private ConfigTree(Object root, String source) {
    this.root = root;
    this.source = source;
  }

  /** Reads a YAML file; an empty file is an empty mapping. */
  public static ConfigTree load(Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new ConfigException("config file not found: " + file);
    } catch (IOException e) {
      throw new ConfigException("cannot read config file " + file + ": " + e.getMessage(), e);
    }
    return parse(text, file.toString());
  }

  /** Parses YAML text; {@code source} names it in error messages. */
  public static ConfigTree parse(String text, String source) {
    LoaderOptions options = new LoaderOptions();
    options.setAllowDuplicateKeys(false);
    options.setMaxAliasesForCollections(50);
    Node node;
    try (Reader reader = new java.io.StringReader(text)) {
      node = new Yaml(options).compose(reader);
    } catch (MarkedYAMLException e) {
      int line = e.getProblemMark() == null ? 0 : e.getProblemMark().getLine() + 1;
      throw new ConfigException(source + ":" + line + ": invalid YAML: " + e.getProblem());
    } catch (YAMLException | IOException e) {
      throw new ConfigException(source + ": invalid YAML: " + e.getMessage(), e);
    }
    ConfigTree tree = new ConfigTree(null, source);
    tree.root = node == null ? new LinkedHashMap<String, Object>() : tree.convert(node, "");
    if (!(tree.root instanceof Map)) {
      throw new ConfigException(source + ": the top level must be a mapping of keys");
    }
    return tree;
  }

  private Object convert(Node node, String path) {
    origins.putIfAbsent(path, source + ":" + (node.getStartMark().getLine() + 1));
    if (node instanceof ScalarNode scalar) {
      return Tag.NULL.equals(scalar.getTag()) ? null : scalar.getValue();
    }
    if (node instanceof SequenceNode seq) {
      List<Object> list = new ArrayList<>();
      for (Node item : seq.getValue()) {
        list.add(convert(item, path + "[" + list.size() + "]"));
      }
      return list;
    }
    MappingNode mapping = (MappingNode) node;
    Map<String, Object> map = new LinkedHashMap<>();
    for (NodeTuple tuple : mapping.getValue()) {
      if (!(tuple.getKeyNode() instanceof ScalarNode key)) {
        throw new ConfigException(source + ":" + (tuple.getKeyNode().getStartMark().getLine() + 1)
            + ": " + describe(path) + ": keys must be plain scalars");
      }
      String child = path.isEmpty() ? key.getValue() : path + "." + key.getValue();
      origins.put(child, source + ":" + (key.getStartMark().getLine() + 1));
      if (map.containsKey(key.getValue())) {
        throw new ConfigException(origins.get(child) + ": " + child + ": duplicate key");
      }
      map.put(key.getValue(), convert(tuple.getValueNode(), child));
    }
    return map;
  }

  public Object root() {
    return root;
  }

  /** Where a key path came from ("conf/local.yaml:12", "--set"), or the file when unknown. */
  public String origin(String path) {
    for (String p = path; ; p = parent(p)) {
      String o = origins.get(p);
      if (o != null) {
        return o;
      }
      if (p.isEmpty()) {
        return source;
      }
    }
  }

  void setOrigin(String path, String origin) {
    origins.put(path, origin);
  }

  void replaceRoot(Object newRoot) {
    this.root = newRoot;
  }

  private static String parent(String path) {
    int dot = Math.max(path.lastIndexOf('.'), path.lastIndexOf('['));
    return dot < 0 ? "" : path.substring(0, dot);
  }

  static String describe(String path) {
    return path.isEmpty() ? "(top level)" : path;
  }

  /**
   * Expands {@code ${VAR}} and {@code ${VAR:-default}} in every scalar; an unset variable without a
   * default is an error naming the key.
   */
  public void expandEnvironment(Function<String, String> env) {
    root = expand(root, "", env);
  }

  @SuppressWarnings("unchecked")
  private Object expand(Object node, String path, Function<String, String> env) {
    if (node instanceof String s) {
      return expandString(s, path, env);
    }
    if (node instanceof List<?> list) {
      List<Object> out = new ArrayList<>(list.size());
      for (int i = 0; i < list.size(); i++) {
        out.add(expand(list.get(i), path + "[" + i + "]", env));
      }
      return out;
    }
    if (node instanceof Map<?, ?> map) {
      Map<String, Object> out = new LinkedHashMap<>();
      for (Map.Entry<String, Object> e : ((Map<String, Object>) map).entrySet()) {
        out.put(e.getKey(), expand(e.getValue(), path.isEmpty() ? e.getKey() : path + "." + e.getKey(), env));
      }
      return out;
    }
    return node;
  }

  private String expandString(String s, String path, Function<String, String> env) {
    if (!s.contains("${")) {
      return s;
    }
    Matcher m = ENV.matcher(s);
    StringBuilder sb = new StringBuilder();
    while (m.find()) {
      String value = env.apply(m.group(1));
      if (value == null || (value.isEmpty() && m.group(2) != null)) {
        if (m.group(2) == null) {
          throw new ConfigException(origin(path) + ": " + describe(path) + ": environment variable "
              + m.group(1) + " is not set (write ${" + m.group(1) + ":-default} to give a default)");
        }
        value = m.group(3);
      }
      m.appendReplacement(sb, Matcher.quoteReplacement(value));
    }
    m.appendTail(sb);
    return sb.toString();
  }
}
