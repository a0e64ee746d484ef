package dev.sparktune.core;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** Why a stage's output is stale, in words: what changed between its manifest and now. */
final class StaleReasons {
  private StaleReasons() {}

  static String explain(Stage stage, Manifest m, Map<String, String> upstream, List<InputFile> inputs) {
    List<String> reasons = new ArrayList<>();
    if (!Version.get().equals(m.sparktuneVersion())) {
      reasons.add("sparktune version " + m.sparktuneVersion() + " -> " + Version.get());
    }
    if (stage.version() != m.stageVersion()) {
      reasons.add("stage version " + m.stageVersion() + " -> " + stage.version());
    }
    List<String> changed = new ArrayList<>();
    diff(stage.name(), m.config(), Fingerprints.configJson(stage), changed);
    if (!changed.isEmpty()) {
      reasons.add("config changed: " + abbreviate(changed));
    }
    for (Map.Entry<String, String> e : upstream.entrySet()) {
      if (!e.getValue().equals(m.upstream() == null ? null : m.upstream().get(e.getKey()))) {
        reasons.add("upstream " + e.getKey() + " changed");
      }
    }
    String files = diffInputs(m.inputs() == null ? List.of() : m.inputs(), inputs);
    if (files != null) {
      reasons.add(files);
    }
    return reasons.isEmpty() ? "fingerprint changed" : String.join("; ", reasons);
  }

  private static String diffInputs(List<InputFile> before, List<InputFile> now) {
    Map<String, InputFile> old = new LinkedHashMap<>();
    before.forEach(f -> old.put(f.path(), f));
    List<String> added = new ArrayList<>();
    List<String> modified = new ArrayList<>();
    for (InputFile f : now) {
      InputFile o = old.remove(f.path());
      if (o == null) {
        added.add(f.path());
      } else if (!o.equals(f)) {
        modified.add(f.path());
      }
    }
    if (added.isEmpty() && modified.isEmpty() && old.isEmpty()) {
      return null;
    }
    List<String> parts = new ArrayList<>();
    if (!modified.isEmpty()) {
      parts.add(modified.size() + " modified (" + abbreviate(modified) + ")");
    }
    if (!added.isEmpty()) {
      parts.add(added.size() + " added (" + abbreviate(added) + ")");
    }
    if (!old.isEmpty()) {
      parts.add(old.size() + " removed (" + abbreviate(new ArrayList<>(old.keySet())) + ")");
    }
    return "input files " + String.join(", ", parts);
  }

  private static String abbreviate(List<String> items) {
    return items.size() <= 3 ? String.join(", ", items)
        : String.join(", ", items.subList(0, 3)) + " and " + (items.size() - 3) + " more";
  }

  private static void diff(String path, JsonNode a, JsonNode b, List<String> out) {
    if (a != null && b != null && a.isNumber() && b.isNumber()) {
      // 42 read back from a manifest is an IntNode, the live config's Long 42 a LongNode
      if (a.decimalValue().compareTo(b.decimalValue()) != 0) {
        out.add(path);
      }
      return;
    }
    if (a == null || b == null || a.getNodeType() != b.getNodeType()) {
      if (a == null ? b != null : !a.equals(b)) {
        out.add(path);
      }
      return;
    }
    if (a.isObject()) {
      Set<String> keys = new TreeSet<>();
      a.fieldNames().forEachRemaining(keys::add);
      b.fieldNames().forEachRemaining(keys::add);
      for (String k : keys) {
        diff(path + "." + k, a.get(k), b.get(k), out);
      }
    } else if (a.isArray() && a.size() == b.size()) {
      for (int i = 0; i < a.size(); i++) {
        diff(path + "[" + i + "]", a.get(i), b.get(i), out);
      }
    } else if (!a.equals(b)) {
      out.add(path);
    }
  }
}
