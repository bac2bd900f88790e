/**
 * The dashboard's page assets, bundled when shoal is built (a Bun macro:
 * see ui-bundle.ts) and so shipped inside the binary.
 */
import type { UiAssets } from "../core/dashboard/page.ts";
import { bundleUi } from "./ui-bundle.ts" with { type: "macro" };

/** The bundled script, worker, stylesheet and their version. */
export const UI_ASSETS: UiAssets = bundleUi();
