package dev.sparktune.jobs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bin/sparktune's choice of JVM options for local runs: the AOT cache is loaded on Java 25 or later
 * when it was made by that Java from the jars there now, and never otherwise. The launcher runs on a
 * copy of the project's layout (an empty jar and lib folder) with Java homes that hold a release
 * file, and prints the command it would run (SPARKTUNE_PRINT_COMMAND), so no JVM starts.
 */
class LauncherTest {
  @TempDir Path tmp;
  private Path root;
  private Path target;
  private Path cache;

  private record Launch(int code, List<String> command, String err) {}

  @BeforeEach
  void layout() throws IOException {
    root = tmp.resolve("sparktune");
    Files.createDirectories(root.resolve("bin"));
    Files.copy(Path.of("bin/sparktune"), root.resolve("bin/sparktune"));
    target = Files.createDirectories(root.resolve("jobs/target/lib"));
    target = target.getParent();
    Files.write(target.resolve("sparktune-jobs.jar"), new byte[0]);
    Files.write(target.resolve("lib/spark-core.jar"), new byte[0]);
    cache = target.resolve("sparktune.aot");
    age(target.resolve("sparktune-jobs.jar"), 3600);
    age(target.resolve("lib/spark-core.jar"), 3600);
    age(target.resolve("lib"), 3600); // the folder too: a jar added or removed changes it
  }

  /** A Java home as the launcher reads it: bin/java (never run here) and the release file. */
  private Path javaHome(String name, String version, String runtime) throws IOException {
    Path home = tmp.resolve(name);
    Path java = Files.createDirectories(home.resolve("bin")).resolve("java");
    Files.writeString(java, "#!/bin/sh\necho 'this stand-in java must not run' >&2\nexit 3\n");
    Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
    Files.writeString(home.resolve("release"), "IMPLEMENTOR=\"test\"\nJAVA_RUNTIME_VERSION=\"" + runtime
        + "\"\nJAVA_VERSION=\"" + version + "\"\n");
    return home;
  }

  private void writeCache(Path madeBy, String runtime, long secondsAgo) throws IOException {
    Files.write(cache, new byte[] {1, 2, 3});
    Files.writeString(target.resolve("sparktune.aot.java"), madeBy.toRealPath() + " " + runtime + "\n");
    age(cache, secondsAgo);
  }

  private static void age(Path file, long secondsAgo) throws IOException {
    Files.setLastModifiedTime(file, FileTime.from(Instant.now().minusSeconds(secondsAgo)));
  }

  private Launch launch(Path javaHome, Map<String, String> env, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("bash", root.resolve("bin/sparktune").toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().remove("SPARK_HOME"); // the tests' own SPARK_HOME would pick spark-submit
    pb.environment().remove("SPARKTUNE_JAVA_OPTS");
    pb.environment().remove("SPARKTUNE_AOT");
    pb.environment().put("JAVA_HOME", javaHome.toString());
    pb.environment().put("SPARKTUNE_PRINT_COMMAND", "1");
    pb.environment().putAll(env);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    return new Launch(p.waitFor(), out.lines().toList(), err);
  }

  @Test
  void java25LoadsACacheItMadeFromTheseJars() throws Exception {
    Path jdk = javaHome("jdk25", "25.0.3", "25.0.3+9-LTS");
    writeCache(jdk, "25.0.3+9-LTS", 60);
    Launch l = launch(jdk, Map.of(), "run", "--to", "tokenize");
    assertEquals(0, l.code(), l.err());
    assertTrue(l.command().contains("-XX:AOTCache=" + cache), l.command().toString());
    assertTrue(l.command().contains("-XX:Tier4InvocationThreshold=15000"), l.command().toString());
    assertTrue(l.command().contains("--enable-native-access=ALL-UNNAMED"), l.command().toString());
    assertFalse(l.command().contains("--add-opens=java.base/sun.security.action=ALL-UNNAMED"), l.command().toString());
    assertEquals(jdk + "/bin/java", l.command().get(0));
    assertEquals(List.of("dev.sparktune.jobs.Main", "run", "--to", "tokenize"),
        l.command().subList(l.command().size() - 4, l.command().size()));
    assertEquals("", l.err());
  }

  @Test
  void aCacheOlderThanAJarIsNotLoadedAndTheRunSaysHowToRemakeIt() throws Exception {
    Path jdk = javaHome("jdk25", "25.0.3", "25.0.3+9-LTS");
    writeCache(jdk, "25.0.3+9-LTS", 60);
    age(target.resolve("lib/spark-core.jar"), 0); // rebuilt after the cache
    Launch l = launch(jdk, Map.of(), "status");
    assertEquals(0, l.code(), l.err());
    assertFalse(l.command().stream().anyMatch(a -> a.startsWith("-XX:AOTCache") || a.startsWith("-XX:Tier4")),
        l.command().toString());
    assertTrue(l.err().contains(cache + " is older than the build; not used"), l.err());
    assertTrue(l.err().contains("bin/sparktune aot-cache"), l.err());
  }

  @Test
  void aCacheMadeByAnotherJavaIsNotLoaded() throws Exception {
    Path jdk = javaHome("jdk25", "25.0.3", "25.0.3+9-LTS");
    Path other = javaHome("jdk26", "26", "26+35");
    writeCache(other, "26+35", 60);
    Launch l = launch(jdk, Map.of(), "status");
    assertEquals(0, l.code(), l.err());
    assertFalse(l.command().stream().anyMatch(a -> a.startsWith("-XX:AOTCache")), l.command().toString());
    assertTrue(l.err().contains("was made by another Java than " + jdk.toRealPath() + " 25.0.3+9-LTS"), l.err());
  }

  @Test
  void java17NeverLoadsACacheAndKeepsSparksOptions() throws Exception {
    Path jdk = javaHome("jdk17", "17.0.15", "17.0.15+6");
    writeCache(jdk, "17.0.15+6", 60);
    Launch l = launch(jdk, Map.of(), "status");
    assertEquals(0, l.code(), l.err());
    assertFalse(l.command().stream().anyMatch(a -> a.startsWith("-XX:AOTCache")), l.command().toString());
    assertFalse(l.command().contains("--enable-native-access=ALL-UNNAMED"), l.command().toString());
    assertTrue(l.command().contains("--add-opens=java.base/sun.security.action=ALL-UNNAMED"), l.command().toString());
    assertEquals("", l.err());
  }

  @Test
  void aotOffLeavesAGoodCacheAlone() throws Exception {
    Path jdk = javaHome("jdk25", "25.0.3", "25.0.3+9-LTS");
    writeCache(jdk, "25.0.3+9-LTS", 60);
    Launch l = launch(jdk, Map.of("SPARKTUNE_AOT", "off"), "status");
    assertEquals(0, l.code(), l.err());
    assertFalse(l.command().stream().anyMatch(a -> a.startsWith("-XX:AOTCache")), l.command().toString());
    assertEquals("", l.err());
  }

  /**
   * The CLI on a real Java 25+, where one is installed (SPARKTUNE_TEST_JAVA25, or a JDK under
   * /usr/lib/jvm): {@code status} resolves the work directory through Hadoop's FileSystem, which
   * failed there before Hadoop's client 3.4.3 (Subject.getSubject is refused from Java 24 on).
   */
  @Test
  void theCliStartsOnJava25() throws Exception {
    Path home = java25();
    org.junit.jupiter.api.Assumptions.assumeTrue(home != null, "no Java 25+ installed here");
    List<String> cmd = new ArrayList<>(List.of(home.resolve("bin/java").toString(), "-Xmx512m",
        "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"));
    for (String a : java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (a.startsWith("--add-opens") && !a.contains("sun.security.action")) {
        cmd.add(a);
      }
    }
    cmd.addAll(List.of("-Dlog4j2.configurationFile=conf/log4j2.properties", "-cp", System.getProperty("java.class.path"),
        Main.class.getName(), "status", "--config", "conf/local.yaml", "--set", "work_dir=" + tmp.resolve("work")));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), out);
    assertTrue(out.contains("ingest") && out.contains("missing"), out);
    assertFalse(out.contains("getSubject"), out);
  }

  /** A Java 25 or later: SPARKTUNE_TEST_JAVA25, else the newest under /usr/lib/jvm; null when none. */
  private static Path java25() throws IOException {
    String given = System.getenv("SPARKTUNE_TEST_JAVA25");
    if (given != null && !given.isEmpty()) {
      return Path.of(given);
    }
    Path jvms = Path.of("/usr/lib/jvm");
    if (!Files.isDirectory(jvms)) {
      return null;
    }
    try (var homes = Files.list(jvms)) {
      return homes.filter(h -> Files.isExecutable(h.resolve("bin/java")) && feature(h) >= 25).findFirst().orElse(null);
    }
  }

  private static int feature(Path home) {
    try {
      for (String line : Files.readAllLines(home.resolve("release"))) {
        if (line.startsWith("JAVA_VERSION=\"")) {
          return Integer.parseInt(line.substring(14).split("[.\"]")[0]);
        }
      }
    } catch (IOException | NumberFormatException e) {
      return 0;
    }
    return 0;
  }

  @Test
  void theHelpListsAotCacheAndJavaWithoutTheLauncherSaysHowToRunIt() {
    Cli.Result help = Cli.run("--help");
    assertTrue(help.out().contains("aot-cache"), help.out());
    Cli.Result direct = Cli.run("aot-cache");
    assertEquals(2, direct.code(), direct.err());
    assertTrue(direct.err().contains("bin/sparktune aot-cache"), direct.err());
  }

  @Test
  void aotCacheRefusesJavaBefore25AndBadArguments() throws Exception {
    Launch old = launch(javaHome("jdk17", "17.0.15", "17.0.15+6"), Map.of(), "aot-cache");
    assertEquals(2, old.code(), old.err());
    assertTrue(old.err().contains("needs Java 25 or later; "), old.err());
    assertTrue(old.err().contains("is Java 17."), old.err());
    assertTrue(old.err().contains("JAVA_HOME="), old.err());
    assertFalse(Files.exists(cache), "no cache written");

    Path jdk = javaHome("jdk25", "25.0.3", "25.0.3+9-LTS");
    Launch bad = launch(jdk, Map.of(), "aot-cache", "--records", "lots");
    assertEquals(2, bad.code(), bad.err());
    assertTrue(bad.err().contains("--records must be a whole number, not 'lots'"), bad.err());
    Launch unknown = launch(jdk, Map.of(), "aot-cache", "--fast");
    assertEquals(2, unknown.code(), unknown.err());
    assertTrue(unknown.err().contains("unknown option --fast"), unknown.err());
    assertFalse(Files.exists(cache), "no cache written");
  }
}
