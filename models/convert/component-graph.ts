/**
 * The step every single-graph component (text encoder, image encoder) shares when it is
 * converted: build the graph from the weights, check that the checkpoint had nothing else, write it.
 */
import { GraphBuilder } from "../graph/builder.ts";
import { saveGraph } from "../graph/save.ts";
import { Params, type Precision } from "../nn.ts";
import type { Weights } from "../weights/store.ts";
import type { ConvertProgress } from "./progress.ts";

/**
 * Builds one component's graph from its weights and writes it: every weight of the checkpoint must have been
 * read (a leftover means the file is not the architecture it was taken for), the total grows by the graph's
 * weight bytes, and each weight written advances the bar under `component`.
 */
export async function buildAndSaveGraph(
  weights: Weights & { assertAllUsed(): void },
  o: {
    graphName: string;
    outDir: string;
    file: string;
    docString: string;
    precision: Precision;
    component: string;
    progress?: ConvertProgress;
    build: (g: GraphBuilder, params: Params) => void;
  },
): Promise<void> {
  const g = new GraphBuilder(o.graphName);
  o.build(g, new Params(g, weights, "", o.precision));
  weights.assertAllUsed();
  o.progress?.addTotal([...g.initializers.values()].reduce((a, i) => a + i.byteLength, 0));
  await saveGraph(g, {
    dir: o.outDir,
    file: o.file,
    docString: o.docString,
    onInitializer: (init) => o.progress?.advance(init.byteLength, o.component),
  });
}
