import { defineConfig } from "vite";
import preact from "@preact/preset-vite";

// The bundle lands inside the Python package; `mlcore ui` / `mlcore server` serve it at `/`.
export default defineConfig({
  plugins: [preact()],
  base: "/",
  build: {
    outDir: "../src/mlcore/ui/static",
    emptyOutDir: true,
    assetsDir: "assets",
    sourcemap: false,
    target: "es2022",
    chunkSizeWarningLimit: 400,
  },
});
