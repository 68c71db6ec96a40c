/** `npm run icons`: renders public/favicon.ico and the PNG icons from public/icon.svg (cli/icon-render.ts). */
import path from "node:path";
import { renderIcons } from "./icon-render.ts";

for (const file of await renderIcons()) console.log(`wrote ${path.relative(process.cwd(), file)}`);
