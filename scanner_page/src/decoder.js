// QR decoding: the browser's BarcodeDetector where it reads QR codes, otherwise ZXing-C++ as
// WebAssembly (zxing-wasm). The wasm is served by this app (/scanner/zxing_reader.wasm), never
// from a CDN: the library's default locateFile points to one, so it is overridden here.

import { prepareZXingModule, readBarcodes } from "zxing-wasm/reader";

let zxingPrepared = false;

function prepareZxing() {
  if (zxingPrepared) return;
  const wasmUrl = new URL("zxing_reader.wasm", document.baseURI).href;
  prepareZXingModule({
    overrides: { locateFile: (path, prefix) => (path.endsWith(".wasm") ? wasmUrl : prefix + path) },
  });
  zxingPrepared = true;
}

async function nativeDetector() {
  if (!("BarcodeDetector" in globalThis)) return null;
  try {
    const formats = await globalThis.BarcodeDetector.getSupportedFormats();
    if (!formats.includes("qr_code")) return null;
    return new globalThis.BarcodeDetector({ formats: ["qr_code"] });
  } catch {
    return null;
  }
}

/** {name, fromCanvas(canvas), fromBlob(blob)} -> arrays of decoded texts. */
export async function createDecoder({ preferWasm = false } = {}) {
  const native = preferWasm ? null : await nativeDetector();
  if (native) {
    return {
      name: "BarcodeDetector",
      fromCanvas: async (canvas) => (await native.detect(canvas)).map((c) => c.rawValue),
      fromBlob: async (blob) => {
        const bitmap = await createImageBitmap(blob);
        try {
          return (await native.detect(bitmap)).map((c) => c.rawValue);
        } finally {
          bitmap.close();
        }
      },
    };
  }
  prepareZxing();
  const options = { formats: ["QRCode"], tryHarder: true, maxNumberOfSymbols: 4 };
  const texts = (results) => results.filter((r) => r.isValid).map((r) => r.text);
  return {
    name: "zxing-wasm",
    fromCanvas: async (canvas) => {
      const ctx = canvas.getContext("2d", { willReadFrequently: true });
      return texts(await readBarcodes(ctx.getImageData(0, 0, canvas.width, canvas.height), options));
    },
    fromBlob: async (blob) => texts(await readBarcodes(blob, options)),
  };
}
