// The camera and the QR decoder: the browser's BarcodeDetector where it reads QR codes (Android, macOS, ChromeOS),
// else ZXing-C++ in WebAssembly (vendor/zxing-wasm, loaded from this server, never a CDN). A code is reported once
// while it stays in view: the same text is reported again only after it has been out of view for a moment.

const FRAME_MS = 120; // about 8 reads a second
const GONE_MS = 1500; // out of view this long, a code shown again is a new scan
const MAX_SIDE = 960; // frames are scaled down to this for the WebAssembly decoder

async function makeDecoder() {
  if ("BarcodeDetector" in window) {
    try {
      const formats = await window.BarcodeDetector.getSupportedFormats();
      if (formats.includes("qr_code")) {
        const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
        return { name: "BarcodeDetector", read: async (video) => (await detector.detect(video)).map((c) => c.rawValue) };
      }
    } catch {
      // fall through to the library
    }
  }
  const zxing = window.ZXingWASM;
  // From this server, at the URL the service worker keeps (versioned), never the library's default CDN.
  const version = document.querySelector('meta[name="gate-version"]').content;
  await zxing.prepareZXingModule({
    overrides: { locateFile: (path) => `/gate/static/vendor/zxing-wasm/${path}?v=${version}` },
    fireImmediately: true,
  });
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  const options = { formats: ["QRCode"], tryHarder: true, maxNumberOfSymbols: 1 };
  return {
    name: `ZXing-C++ ${zxing.ZXING_WASM_VERSION} (WebAssembly)`,
    read: async (video) => {
      const scale = Math.min(1, MAX_SIDE / Math.max(video.videoWidth, video.videoHeight));
      canvas.width = Math.round(video.videoWidth * scale);
      canvas.height = Math.round(video.videoHeight * scale);
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      const found = await zxing.readBarcodes(context.getImageData(0, 0, canvas.width, canvas.height), options);
      return found.filter((r) => r.isValid).map((r) => r.text);
    },
  };
}

export class Camera {
  constructor(video, onCode) {
    this.video = video;
    this.onCode = onCode; // async (text) => void; no read is reported while it runs
    this.stream = null;
    this.decoder = null;
    this.timer = null;
    this.last = { text: "", seenAt: 0 };
  }

  get running() {
    return this.stream !== null;
  }

  async start() {
    if (this.stream) return;
    this.decoder ||= await makeDecoder();
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
    });
    this.video.srcObject = this.stream;
    await this.video.play();
    this.schedule();
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.stream) for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
    this.video.srcObject = null;
  }

  /** Forget the code in view, so that it is reported again (the "scan again" button). */
  rearm() {
    this.last = { text: "", seenAt: 0 };
  }

  schedule() {
    if (this.stream) this.timer = setTimeout(() => this.tick(), FRAME_MS);
  }

  async tick() {
    try {
      if (this.video.readyState >= 2 && this.video.videoWidth > 0) {
        const [text] = await this.decoder.read(this.video);
        const now = performance.now();
        if (text && this.stream) {
          const fresh = text !== this.last.text || now - this.last.seenAt > GONE_MS;
          this.last = { text, seenAt: now };
          if (fresh) {
            await this.onCode(text);
            this.last.seenAt = performance.now(); // the answer's time on screen is not time out of view
          }
        }
      }
    } catch (error) {
      console.warn("camera read failed", error);
    }
    this.schedule();
  }
}
