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

/**
 * Binds a {@link ConfigTree} to immutable config records, strictly: unknown keys, wrong types and
 * values a record's constructor rejects fail with the file, line and key path. ({@code --set}
 * overrides, guided by the same record types, are {@link ConfigOverride}'s.)
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

  static Class<?> rawClass(Type type) {
    if (type instanceof Class<?> c) {
      return c;
    }
    if (type instanceof ParameterizedType p) {
      return (Class<?>) p.getRawType();
    }
    throw new IllegalStateException("config type not supported: " + type);
  }

  static Type typeArg(Type type, int index) {
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
