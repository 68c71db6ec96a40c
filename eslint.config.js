import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import js from "@eslint/js";
import nextPlugin from "@next/eslint-plugin-next";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import tseslint from "typescript-eslint";

/**
 * The layering the README promises, enforced on direct imports (`server-only` guards the web server's
 * own modules against reaching a client bundle indirectly):
 * - the engine and the model builders know nothing of the web, the database or the queue;
 * - client code (components/ and every "use client" module) imports nothing of the server.
 */
const restricted = (name, regex, message) => ({ name, regex, message });
const WEB = restricted("web", "^(next|react|react-dom)(/.*)?$|(^|/)(app|components)/", "the engine and models/ know nothing of the web");
const DB = restricted("db", "^@prisma/|(^|/)lib/db/|^\\.\\.?/(\\.\\./)*db/", "the engine and models/ know nothing of the database");
const QUEUE = restricted(
  "queue",
  "^(bullmq|ioredis)$|(^|/)lib/(queue|redis)/|^\\.\\.?/(\\.\\./)*(queue|redis)/",
  "the engine and models/ know nothing of the queue",
);
const SERVER = restricted(
  "server",
  "^(node:.*|bullmq|ioredis|@prisma/.*|onnxruntime-node|sharp|server-only)$|(^|/)lib/(db|queue|redis|jobs|http|server|health|web|storage|video|engine/(?!text/negative-prompt))|(^|/)models/|(^|/)lib/config(\\.ts)?$",
  "client code imports nothing of the server",
);
const noRestrictedImports = (...groups) => [
  "error",
  { patterns: groups.map((g) => ({ regex: g.regex, message: g.message })) },
];

/** Files outside components/ that start with "use client". */
function filesMarkedUseClient(dirs) {
  const found = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (/\.tsx?$/.test(entry.name) && /^\s*["']use client["']/.test(readFileSync(file, "utf8"))) found.push(file);
    }
  };
  for (const dir of dirs) walk(dir);
  return found;
}

export default tseslint.config(
  { ignores: ["node_modules/", ".next/", "data/", "lib/db/generated/", "test-results/", "bench/results/", "next-env.d.ts"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    plugins: { "@next/next": nextPlugin, "react-hooks": reactHooks },
    rules: {
      ...nextPlugin.configs.recommended.rules,
      ...nextPlugin.configs["core-web-vitals"].rules,
      "react-hooks/rules-of-hooks": "error",
      "react-hooks/exhaustive-deps": "warn",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "no-console": "off",
      eqeqeq: ["error", "smart"],
    },
  },
  {
    // One place opens ONNX Runtime sessions (provider choice, WebGPU's exact-attention graphs, traffic counts).
    files: ["app/**/*.ts", "lib/**/*.ts", "models/**/*.ts", "bench/**/*.ts", "cli/**/*.ts", "workers/**/*.ts"],
    ignores: ["lib/engine/runtime.ts"],
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector: "CallExpression[callee.property.name='create'][callee.object.property.name='InferenceSession']",
          message: "open sessions with openSession (lib/engine/runtime.ts)",
        },
      ],
    },
  },
  {
    files: ["lib/engine/**/*.ts", "models/**/*.ts"],
    rules: { "no-restricted-imports": noRestrictedImports(WEB, DB, QUEUE) },
  },
  {
    files: ["components/**/*.tsx", "components/**/*.ts", ...filesMarkedUseClient(["app", "lib"])],
    rules: { "no-restricted-imports": noRestrictedImports(SERVER) },
  },
);
