package dev.sparktune.config;

import static dev.sparktune.config.ConfigBinder.keyOf;
import static dev.sparktune.config.ConfigBinder.rawClass;
import static dev.sparktune.config.ConfigBinder.typeArg;

import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * A {@code --set key.path=value} override applied to a {@link ConfigTree}, guided by the config
 * record types: lists are addressed by index ({@code sources[0]}) or by an element's {@code name}
 * ({@code sources[recipes]}); under a free-form map of scalars the rest of the path is one key, so
 * {@code spark.conf.spark.sql.shuffle.partitions=8} works.
 */
final class ConfigOverride {
  private ConfigOverride() {}

  /** One step down the key path: the key in the current container, the type below it, and whether it is the last. */
  private record Step(Object key, Type childType, boolean last) {}

  static void apply(ConfigTree tree, Class<? extends Record> rootType, String assignment) {
    int eq = assignment.indexOf('=');
    if (eq <= 0) {
      throw new ConfigException("--set " + assignment + ": expected key.path=value");
    }
    String keyPath = assignment.substring(0, eq).trim();
    Object value = parseValue(assignment.substring(eq + 1));
    List<String> tokens = tokenize(keyPath, assignment);

    Object container = tree.root();
    Type type = rootType;
    StringBuilder path = new StringBuilder();
    for (int i = 0; i < tokens.size(); i++) {
      Step step = step(container, type, tokens, i, keyPath, path);
      if (step.last()) {
        put(container, step.key(), value);
        tree.setOrigin(path.toString(), "--set " + keyPath);
        return;
      }
      Object next = get(container, step.key());
      if (next == null) {
        next = rawClass(step.childType()) == List.class ? new ArrayList<>() : new LinkedHashMap<String, Object>();
        put(container, step.key(), next);
      }
      container = next;
      type = step.childType();
    }
  }

  /** Resolves token {@code i} in {@code container} (of {@code type}), appending it to {@code path}. */
  @SuppressWarnings("unchecked")
  private static Step step(Object container, Type type, List<String> tokens, int i, String keyPath,
      StringBuilder path) {
    String token = tokens.get(i);
    boolean last = i == tokens.size() - 1;
    Class<?> raw = rawClass(type);
    if (raw.isRecord()) {
      if (token.startsWith("[")) {
        throw new ConfigException("--set " + keyPath + ": " + ConfigTree.describe(path.toString()) + " is not a list");
      }
      RecordComponent component = Arrays.stream(raw.getRecordComponents())
          .filter(c -> keyOf(c.getName()).equals(token)).findFirst()
          .orElseThrow(() -> new ConfigException("--set " + keyPath + ": unknown key '" + token + "' under "
              + ConfigTree.describe(path.toString()) + "; expected one of "
              + Arrays.stream(raw.getRecordComponents()).map(c -> keyOf(c.getName())).collect(Collectors.joining(", "))));
      append(path, token);
      return new Step(token, component.getGenericType(), last);
    }
    if (raw == Map.class) {
      Type valueType = typeArg(type, 1);
      boolean scalarValues = !rawClass(valueType).isRecord() && rawClass(valueType) != List.class
          && rawClass(valueType) != Map.class;
      String mapKey = scalarValues ? String.join(".", tokens.subList(i, tokens.size())) : token;
      append(path, mapKey);
      return new Step(mapKey, valueType, last || scalarValues);
    }
    if (raw == List.class) {
      if (!token.startsWith("[")) {
        throw new ConfigException("--set " + keyPath + ": " + path + " is a list; address an element as "
            + path + "[0] or " + path + "[name]");
      }
      String selector = token.substring(1, token.length() - 1);
      List<Object> list = (List<Object>) container;
      int index = findIndex(list, selector);
      if (index < 0 || index > list.size()) {
        throw new ConfigException("--set " + keyPath + ": " + path + " has no element " + token
            + " (" + list.size() + " elements)");
      }
      path.append(token);
      return new Step(index, typeArg(type, 0), last);
    }
    throw new ConfigException("--set " + keyPath + ": " + path + " is a single value, not a section");
  }

  @SuppressWarnings("unchecked")
  private static Object get(Object container, Object key) {
    if (container instanceof Map<?, ?> m) {
      return m.get(key);
    }
    List<Object> list = (List<Object>) container;
    int i = (Integer) key;
    return i < list.size() ? list.get(i) : null;
  }

  @SuppressWarnings("unchecked")
  private static void put(Object container, Object key, Object value) {
    if (container instanceof Map<?, ?> m) {
      ((Map<String, Object>) m).put((String) key, value);
      return;
    }
    List<Object> list = (List<Object>) container;
    int i = (Integer) key;
    if (i == list.size()) {
      list.add(value);
    } else {
      list.set(i, value);
    }
  }

  private static int findIndex(List<Object> list, String selector) {
    if (selector.matches("\\d+")) {
      return Integer.parseInt(selector);
    }
    for (int i = 0; i < list.size(); i++) {
      if (list.get(i) instanceof Map<?, ?> m && selector.equals(m.get("name"))) {
        return i;
      }
    }
    return -1;
  }

  private static void append(StringBuilder path, String key) {
    if (path.length() > 0) {
      path.append('.');
    }
    path.append(key);
  }

  private static List<String> tokenize(String keyPath, String assignment) {
    List<String> tokens = new ArrayList<>();
    int i = 0;
    StringBuilder current = new StringBuilder();
    while (i < keyPath.length()) {
      char c = keyPath.charAt(i);
      if (c == '.') {
        if (current.length() > 0) {
          tokens.add(current.toString());
          current.setLength(0);
        }
        i++;
      } else if (c == '[') {
        if (current.length() > 0) {
          tokens.add(current.toString());
          current.setLength(0);
        }
        int close = keyPath.indexOf(']', i);
        if (close < 0) {
          throw new ConfigException("--set " + assignment + ": unclosed '['");
        }
        tokens.add(keyPath.substring(i, close + 1));
        i = close + 1;
      } else {
        current.append(c);
        i++;
      }
    }
    if (current.length() > 0) {
      tokens.add(current.toString());
    }
    if (tokens.isEmpty()) {
      throw new ConfigException("--set " + assignment + ": empty key");
    }
    return tokens;
  }

  /**
   * A --set value is plain text, except that an inline list or mapping ({@code [a, b]}, {@code {k: v}})
   * or a quoted string is read as YAML; an empty value unsets the key.
   */
  private static Object parseValue(String text) {
    if (text.isEmpty()) {
      return null;
    }
    char first = text.charAt(0);
    if (first != '[' && first != '{' && first != '"' && first != '\'') {
      return text;
    }
    try {
      ConfigTree t = ConfigTree.parse("v: " + text, "--set");
      return ((Map<?, ?>) t.root()).get("v");
    } catch (ConfigException | YAMLException e) {
      return text;
    }
  }
}
