import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../lib/config.ts";

const cwd = "/srv/studio";

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env, cwd);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems.map((p) => `${p.variable} ${p.message}`);
  }
  throw new Error("expected a ConfigError");
}

describe("configuration", () => {
  it("has working defaults: SQLite under data/, local Redis, loopback on port 3000", () => {
    const cfg = loadConfig({}, cwd);
    expect(cfg.dataDir).toBe(path.join(cwd, "data"));
    expect(cfg.modelsDir).toBe(path.join(cwd, "data", "models"));
    expect(cfg.databaseUrl).toBe(`file:${path.join(cwd, "data", "studio.db")}`);
    expect(cfg.databaseProvider).toBe("sqlite");
    expect(cfg.redisUrl).toBe("redis://127.0.0.1:6379");
    expect(cfg.host).toBe("127.0.0.1");
    expect(cfg.port).toBe(3000);
    expect(cfg.exposed).toBe(false);
    expect(cfg.executionProviders).toBe("auto");
  });

  it("reads every variable", () => {
    const cfg = loadConfig(
      {
        DATA_DIR: "/var/lib/studio",
        MODELS_DIR: "/models",
        DATABASE_URL: "postgresql://studio@db:5432/studio",
        REDIS_URL: "redis://redis:6379/2",
        HOST: "0.0.0.0",
        PORT: "8080",
        STUDIO_TOKEN: "a-very-long-secret-token",
        EXECUTION_PROVIDERS: "cuda,cpu",
      },
      cwd,
    );
    expect(cfg.dataDir).toBe("/var/lib/studio");
    expect(cfg.modelsDir).toBe("/models");
    expect(cfg.databaseProvider).toBe("postgresql");
    expect(cfg.redisUrl).toBe("redis://redis:6379/2");
    expect(cfg.port).toBe(8080);
    expect(cfg.exposed).toBe(true);
    expect(cfg.studioToken).toBe("a-very-long-secret-token");
    expect(cfg.executionProviders).toEqual(["cuda", "cpu"]);
  });

  it("reads the routing settings: advertised memory, kinds taken, grace for a loaded model", () => {
    expect(loadConfig({}, cwd)).toMatchObject({ workerMemoryGiB: undefined, workerKinds: ["t2v", "i2v", "v2v"], routingGraceMs: 15_000 });
    expect(loadConfig({ WORKER_MEMORY_GB: "7.5", WORKER_KINDS: "i2v, t2v", ROUTING_GRACE_MS: "0" }, cwd)).toMatchObject({
      workerMemoryGiB: 7.5,
      workerKinds: ["i2v", "t2v"],
      routingGraceMs: 0,
    });
  });

  it("treats empty strings as unset", () => {
    expect(loadConfig({ PORT: "", HOST: "" }, cwd).port).toBe(3000);
  });

  it.each([
    [{ PORT: "abc" }, /^PORT must be a number \(got "abc"\)/],
    [{ PORT: "70000" }, /^PORT must be between 1 and 65535 \(got "70000"\)/],
    [{ PORT: "3000.5" }, /^PORT must be an integer/],
    [{ REDIS_URL: "localhost:6379" }, /^REDIS_URL must start with "redis:\/\/"/],
    [{ DATABASE_URL: "mysql://x" }, /^DATABASE_URL must start with "file:"/],
    [{ STUDIO_TOKEN: "short" }, /^STUDIO_TOKEN must be at least 16 characters/],
    [{ EXECUTION_PROVIDERS: "tpu" }, /^EXECUTION_PROVIDERS must be "auto" or a comma-separated list/],
    [{ HOST: "bad host!" }, /^HOST must be a host name or IP address/],
    [{ WORKER_CONCURRENCY: "0" }, /^WORKER_CONCURRENCY /],
    [{ WORKER_MEMORY_GB: "0" }, /^WORKER_MEMORY_GB must be more than 0/],
    [{ WORKER_KINDS: "t2v,x2v" }, /^WORKER_KINDS must be a comma-separated list of t2v, i2v, v2v/],
    [{ ROUTING_GRACE_MS: "-1" }, /^ROUTING_GRACE_MS /],
  ])("names the variable in the error for %j", (env, pattern) => {
    const found = problems(env as Record<string, string>);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(pattern);
  });

  it("reports every bad variable at once", () => {
    const found = problems({ PORT: "x", REDIS_URL: "nope" });
    expect(found.map((p) => p.split(" ")[0]).sort()).toEqual(["PORT", "REDIS_URL"]);
  });

  it("requires STUDIO_TOKEN when listening beyond loopback", () => {
    const found = problems({ HOST: "0.0.0.0" });
    expect(found[0]).toMatch(/^STUDIO_TOKEN is required when HOST \(0\.0\.0\.0\) is not a loopback address/);
    expect(loadConfig({ HOST: "::1" }, cwd).exposed).toBe(false);
  });

  it("says where to look in the message", () => {
    expect(() => loadConfig({ PORT: "x" }, cwd)).toThrow(/Invalid configuration:\n {2}PORT .*\nSee \.env\.example/);
  });
});

describe("webhook settings", () => {
  it("takes an http(s) WEBHOOK_URL with a WEBHOOK_SECRET of 16+ characters", () => {
    const cfg = loadConfig({ WEBHOOK_URL: "https://hooks.example.com/studio", WEBHOOK_SECRET: "0123456789abcdef" }, cwd);
    expect([cfg.webhookUrl, cfg.webhookSecret]).toEqual(["https://hooks.example.com/studio", "0123456789abcdef"]);
    expect(loadConfig({}, cwd).webhookUrl).toBeUndefined();
  });

  it("names the variable at fault", () => {
    expect(problems({ WEBHOOK_URL: "https://hooks.example.com/" })[0]).toMatch(/^WEBHOOK_SECRET is required when WEBHOOK_URL is set/);
    expect(problems({ WEBHOOK_URL: "ftp://hooks.example.com/", WEBHOOK_SECRET: "0123456789abcdef" })[0]).toMatch(/^WEBHOOK_URL must be an absolute http:\/\/ or https:\/\/ URL/);
    expect(problems({ WEBHOOK_SECRET: "short" })[0]).toMatch(/^WEBHOOK_SECRET must be at least 16 characters/);
  });
});

describe("checkpoint settings", () => {
  it("CHECKPOINT_EVERY_STEPS: every 5 steps by default, 0 turns checkpoints off", () => {
    expect(loadConfig({}, cwd).checkpointEverySteps).toBe(5);
    expect(loadConfig({ CHECKPOINT_EVERY_STEPS: "0" }, cwd).checkpointEverySteps).toBe(0);
    expect(loadConfig({ CHECKPOINT_EVERY_STEPS: "12" }, cwd).checkpointEverySteps).toBe(12);
  });

  it("names the variable at fault", () => {
    expect(problems({ CHECKPOINT_EVERY_STEPS: "-1" })[0]).toMatch(/^CHECKPOINT_EVERY_STEPS must be 0 \(off\) or a positive number of steps \(got "-1"\)/);
    expect(problems({ CHECKPOINT_EVERY_STEPS: "2.5" })[0]).toMatch(/^CHECKPOINT_EVERY_STEPS must be an integer/);
    expect(problems({ CHECKPOINT_EVERY_STEPS: "often" })[0]).toMatch(/^CHECKPOINT_EVERY_STEPS must be a number/);
  });
});
