#!/usr/bin/env node
// bifrost-build: builds a workflow module (JavaScript or TypeScript) into a WebAssembly
// component of the `bifrost:executions/workflow` world, which the Bifrost runner runs.
//
//     npx bifrost-build workflow.js -o workflow.wasm [--export NAME]
//
// The module is bundled with esbuild (TypeScript's types are stripped; `import ... from
// "bifrost"` is this package, the same version as this command), wrapped in the entry
// module that exports the world's `run`, and made a component by componentize-js with the
// WIT this package ships. Both tools are pinned in this package's package.json; nothing but
// Node.js and npm is needed.

import { mkdtemp, realpath, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const PACKAGE = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SOURCES = [".js", ".mjs", ".ts", ".mts"];
const USAGE = `usage: bifrost-build WORKFLOW.(js|mjs|ts|mts) [-o OUTPUT.wasm] [--export NAME]

Builds the workflow module into a component. The workflow is the module's default export
(or the export NAME), an async function of the execution's input.

  -o, --output FILE   where to write the component (default: the module's name, .wasm)
      --export NAME   the export that is the workflow (default: default)
  -h, --help          this text`;

/** A mistake of the command line or the module: said, exit 2. */
class Usage extends Error {}

async function main(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        output: { type: "string", short: "o" },
        export: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new Usage(e.message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return;
  }
  if (positionals.length !== 1) throw new Usage("name one workflow module");
  const source = resolve(positionals[0]);
  if (!SOURCES.includes(extname(source))) {
    throw new Usage(`${positionals[0]}: a workflow module ends in ${SOURCES.join(", ")}`);
  }
  const info = await stat(source).catch(() => null);
  if (info === null || !info.isFile()) throw new Usage(`${positionals[0]}: no such file`);
  const exportName = values.export ?? "default";
  if (!/^[A-Za-z_$][\w$]*$/.test(exportName)) {
    throw new Usage(`--export ${JSON.stringify(exportName)}: not a JavaScript name`);
  }
  const output = resolve(values.output ?? source.slice(0, -extname(source).length) + ".wasm");

  const started = Date.now();
  const esbuild = await import("esbuild");
  const { componentize } = await import("@bytecodealliance/componentize-js");
  const work = await mkdtemp(join(tmpdir(), "bifrost-build-"));
  try {
    const exports = await moduleExports(esbuild, source);
    if (!exports.includes(exportName)) {
      const what = exportName === "default" ? "no default export" : `no export ${exportName}`;
      const has = exports.length ? `it exports ${exports.join(", ")}` : "it exports nothing";
      throw new Usage(`${positionals[0]} has ${what} (${has}): export the workflow function, or name it with --export`);
    }
    const entry = join(work, "entry.js");
    await writeFile(
      entry,
      `import * as workflow from ${JSON.stringify(source)};\n` +
        `import { workflowRun } from "bifrost/component";\n` +
        `export const run = workflowRun(workflow, ${JSON.stringify(exportName)}, ${JSON.stringify(basename(source))});\n`,
    );
    const bundle = join(work, "workflow.js");
    await esbuild.build({ ...bundleOptions(), entryPoints: [entry], outfile: bundle });
    const { component } = await componentize({
      sourcePath: bundle,
      witPath: await realpath(join(PACKAGE, "wit", "executions.wit")),
      worldName: "workflow",
      disableFeatures: ["http", "fetch-event"],
    });
    await writeFile(output, component);
    const mb = (component.length / 1e6).toFixed(1);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    console.error(`bifrost-build: wrote ${output} (${mb} MB) in ${seconds} s`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** How every module is bundled: one ES module, the package resolved to this one, the
 * component's own imports left to the component. */
function bundleOptions() {
  return {
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    keepNames: true,
    logLevel: "silent",
    external: ["bifrost:*", "wasi:*"],
    plugins: [bifrostPackage],
  };
}

/** `bifrost` is this package (its `src/index.js`), `bifrost/component` its entry glue. */
const bifrostPackage = {
  name: "bifrost",
  setup(build) {
    build.onResolve({ filter: /^bifrost(\/component)?$/ }, (args) => ({
      path: join(PACKAGE, "src", args.path === "bifrost" ? "index.js" : "component.js"),
    }));
  },
};

/** The names the module exports (`default` among them), as esbuild reads them. */
async function moduleExports(esbuild, source) {
  const result = await esbuild.build({
    ...bundleOptions(),
    entryPoints: [source],
    write: false,
    metafile: true,
    outdir: "out",
  });
  const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint);
  return output ? output.exports : [];
}

function report(e) {
  if (e instanceof Usage) {
    console.error(`bifrost-build: ${e.message}\n\n${USAGE}`);
    return 2;
  }
  if (Array.isArray(e?.errors) && e.errors.length) {
    // esbuild's messages: file, line and what is wrong.
    for (const m of e.errors) {
      const at = m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ` : "";
      console.error(`bifrost-build: ${at}${m.text}`);
    }
    return 1;
  }
  console.error(`bifrost-build: ${e?.message ?? e}`);
  return 1;
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (e) => process.exit(report(e)),
);

