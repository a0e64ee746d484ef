package dev.sparktune.config;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * Binds a {@link ConfigTree} to immutable config records, strictly: unknown keys, wrong types and
 * values a record's constructor rejects fail with the file, line and key path. Also applies
 * {@code --set key.path=value} overrides, guided by the same record types.
 */
public final class ConfigBinder {
  private ConfigBinder() {}

  /** Binds the whole tree to {@code type}. */
  public static <T extends Record> T bind(ConfigTree tree, Class<T> type) {
    return type.cast(bindValue(tree, tree.root(), type, ""));
  }

  /** YAML key of a record component: camelCase becomes snake_case. */
  public static String keyOf(String componentName) {
    StringBuilder sb = new StringBuilder();
    for (char c : componentName.toCharArray()) {
      if (Character.isUpperCase(c)) {
        sb.append('_').append(Character.toLowerCase(c));
      } else {
        sb.append(c);
      }
    }
    return sb.toString();
  }

  private static ConfigException error(ConfigTree tree, String path, String message) {
    return new ConfigException(tree.origin(path) + ": " + ConfigTree.describe(path) + ": " + message);
  }

  private static Object bindValue(ConfigTree tree, Object node, Type type, String path) {
    Class<?> raw = rawClass(type);
    if (node == null) {
      return null;
    }
    if (raw.isRecord()) {
      return bindRecord(tree, node, raw, path);
    }
    if (raw == List.class) {
      if (!(node instanceof List<?> list)) {
        throw error(tree, path, "expected a list, found " + kind(node));
      }
      Type element = typeArg(type, 0);
      List<Object> out = new ArrayList<>(list.size());
      for (int i = 0; i < list.size(); i++) {
        out.add(bindValue(tree, list.get(i), element, path + "[" + i + "]"));
      }
      return List.copyOf(out.stream().map(o -> o == null ? nullElement(tree, path) : o).toList());
    }
    if (raw == Map.class) {
      if (!(node instanceof Map<?, ?> map)) {
        throw error(tree, path, "expected a mapping, found " + kind(node));
      }
      Type valueType = typeArg(type, 1);
      Map<String, Object> out = new LinkedHashMap<>();
      for (Map.Entry<?, ?> e : map.entrySet()) {
        String key = String.valueOf(e.getKey());
        String child = path.isEmpty() ? key : path + "." + key;
        Object v = bindValue(tree, e.getValue(), valueType, child);
        if (v == null) {
          throw error(tree, child, "must not be empty");
        }
        out.put(key, v);
      }
      return java.util.Collections.unmodifiableMap(out);
    }
    if (!(node instanceof String s)) {
      throw error(tree, path, "expected " + expected(raw) + ", found " + kind(node));
    }
    return scalar(tree, s, raw, path);
  }

  private static Object nullElement(ConfigTree tree, String path) {
    throw error(tree, path, "list elements must not be empty");
  }

  private static Object scalar(ConfigTree tree, String s, Class<?> raw, String path) {
    try {
      if (raw == String.class) {
        return s;
      }
      if (raw == Integer.class || raw == int.class) {
        return Integer.valueOf(s.replace("_", ""));
      }
      if (raw == Long.class || raw == long.class) {
        return Long.valueOf(s.replace("_", ""));
      }
      if (raw == Double.class || raw == double.class) {
        return Double.valueOf(s);
      }
      if (raw == Boolean.class || raw == boolean.class) {
        if (s.equalsIgnoreCase("true")) {
          return Boolean.TRUE;
        }
        if (s.equalsIgnoreCase("false")) {
          return Boolean.FALSE;
        }
        throw new NumberFormatException();
      }
      if (raw.isEnum()) {
        String wanted = s.trim().toLowerCase(Locale.ROOT).replace('-', '_');
        for (Object constant : raw.getEnumConstants()) {
          if (((Enum<?>) constant).name().toLowerCase(Locale.ROOT).equals(wanted)) {
            return constant;
          }
        }
        throw error(tree, path, "'" + s + "' is not one of " + enumNames(raw));
      }
    } catch (NumberFormatException e) {
      throw error(tree, path, "expected " + expected(raw) + ", found '" + s + "'");
    }
    throw new IllegalStateException("config type not supported: " + raw);
  }

  private static Object bindRecord(ConfigTree tree, Object node, Class<?> type, String path) {
    if (!(node instanceof Map<?, ?> map)) {
      throw error(tree, path, "expected a mapping, found " + kind(node));
    }
    RecordComponent[] components = type.getRecordComponents();
    Map<String, RecordComponent> byKey = new LinkedHashMap<>();
    for (RecordComponent c : components) {
      byKey.put(keyOf(c.getName()), c);
    }
    for (Object key : map.keySet()) {
      if (!byKey.containsKey(String.valueOf(key))) {
        String child = path.isEmpty() ? String.valueOf(key) : path + "." + key;
        throw error(tree, child, "unknown key; expected one of " + String.join(", ", byKey.keySet()));
      }
    }
    Object[] args = new Object[components.length];
    Class<?>[] types = new Class<?>[components.length];
    for (int i = 0; i < components.length; i++) {
      String key = keyOf(components[i].getName());
      String child = path.isEmpty() ? key : path + "." + key;
      types[i] = components[i].getType();
      args[i] = bindValue(tree, map.get(key), components[i].getGenericType(), child);
      if (args[i] == null && types[i].isPrimitive()) {
        throw error(tree, child, "is required");
      }
    }
    try {
      Constructor<?> ctor = type.getDeclaredConstructor(types);
      return ctor.newInstance(args);
    } catch (InvocationTargetException e) {
      Throwable cause = e.getCause();
      if (cause instanceof InvalidValue invalid) {
        String child = invalid.key() == null ? path : (path.isEmpty() ? invalid.key() : path + "." + invalid.key());
        throw error(tree, child, invalid.problem());
      }
      if (cause instanceof ConfigException ce) {
        throw ce;
      }
      throw error(tree, path, String.valueOf(cause.getMessage()));
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot construct config record " + type.getName(), e);
    }
  }

  /**
   * Applies {@code key.path=value} to the tree. Lists are addressed by index ({@code sources[0]}) or
   * by an element's {@code name} ({@code sources[recipes]}); under a free-form map of scalars the rest
   * of the path is one key, so {@code spark.conf.spark.sql.shuffle.partitions=8} works.
   */
  @SuppressWarnings("unchecked")
  public static void applyOverride(ConfigTree tree, Class<? extends Record> rootType, String assignment) {
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
      String token = tokens.get(i);
      boolean last = i == tokens.size() - 1;
      Class<?> raw = rawClass(type);
      Object key;
      Type childType;
      if (raw.isRecord()) {
        if (token.startsWith("[")) {
          throw new ConfigException("--set " + keyPath + ": " + ConfigTree.describe(path.toString()) + " is not a list");
        }
        RecordComponent component = Arrays.stream(raw.getRecordComponents())
            .filter(c -> keyOf(c.getName()).equals(token)).findFirst()
            .orElseThrow(() -> new ConfigException("--set " + keyPath + ": unknown key '" + token + "' under "
                + ConfigTree.describe(path.toString()) + "; expected one of "
                + Arrays.stream(raw.getRecordComponents()).map(c -> keyOf(c.getName())).collect(Collectors.joining(", "))));
        key = token;
        childType = component.getGenericType();
        append(path, token);
      } else if (raw == Map.class) {
        Type valueType = typeArg(type, 1);
        boolean scalarValues = !rawClass(valueType).isRecord() && rawClass(valueType) != List.class
            && rawClass(valueType) != Map.class;
        String mapKey = scalarValues ? String.join(".", tokens.subList(i, tokens.size())) : token;
        key = mapKey;
        childType = valueType;
        append(path, mapKey);
        if (scalarValues) {
          i = tokens.size() - 1;
          last = true;
        }
      } else if (raw == List.class) {
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
        key = index;
        childType = typeArg(type, 0);
        path.append(token);
      } else {
        throw new ConfigException("--set " + keyPath + ": " + path + " is a single value, not a section");
      }
      if (last) {
        put(container, key, value);
        tree.setOrigin(path.toString(), "--set " + keyPath);
        return;
      }
      Object next = get(container, key);
      if (next == null) {
        next = rawClass(childType) == List.class ? new ArrayList<>() : new LinkedHashMap<String, Object>();
        put(container, key, next);
      }
      container = next;
      type = childType;
    }
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

  private static Class<?> rawClass(Type type) {
    if (type instanceof Class<?> c) {
      return c;
    }
    if (type instanceof ParameterizedType p) {
      return (Class<?>) p.getRawType();
    }
    throw new IllegalStateException("config type not supported: " + type);
  }

  private static Type typeArg(Type type, int index) {
    if (type instanceof ParameterizedType p) {
      return p.getActualTypeArguments()[index];
    }
    throw new IllegalStateException("raw collection type in a config record: " + type);
  }

  private static String kind(Object node) {
    if (node instanceof Map) {
      return "a mapping";
    }
    if (node instanceof List) {
      return "a list";
    }
    return "'" + node + "'";
  }

  private static String expected(Class<?> raw) {
    if (raw == Integer.class || raw == int.class || raw == Long.class || raw == long.class) {
      return "an integer";
    }
    if (raw == Double.class || raw == double.class) {
      return "a number";
    }
    if (raw == Boolean.class || raw == boolean.class) {
      return "true or false";
    }
    if (raw.isEnum()) {
      return "one of " + enumNames(raw);
    }
    return "a single value";
  }

  private static String enumNames(Class<?> raw) {
    return Arrays.stream(raw.getEnumConstants())
        .map(c -> ((Enum<?>) c).name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(", "));
  }

}
