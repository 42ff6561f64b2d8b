// Sound and vibration for each answer, so door staff need not read the screen: a rising double beep lets in, a
// low buzz refuses, two mid beeps warn (already admitted, cannot check). Web Audio tones: no sound files to load.

let audio = null;

/** Call from a user gesture (a tap, the camera button): browsers keep audio muted until one. */
export function unlockSound() {
  try {
    audio ||= new AudioContext();
    if (audio.state === "suspended") audio.resume();
  } catch {
    audio = null;
  }
}

function tones(list, type = "sine") {
  if (!audio || audio.state !== "running") return;
  let at = audio.currentTime + 0.01;
  for (const [frequency, seconds] of list) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = type;
    osc.frequency.value = frequency;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.4, at + 0.01);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + seconds);
    osc.connect(gain).connect(audio.destination);
    osc.start(at);
    osc.stop(at + seconds + 0.02);
    at += seconds + 0.04;
  }
}

const vibrate = (pattern) => navigator.vibrate && navigator.vibrate(pattern);

export const KIND = {
  admitted: "go",
  exited: "go",
  already_admitted: "warn",
  not_inside: "warn",
  cannot_check: "warn",
  invalid: "stop",
  revoked: "stop",
  wrong_event: "stop",
  expired: "stop",
};

export function signal(result) {
  const kind = KIND[result] || "warn";
  if (kind === "go") {
    tones([
      [880, 0.09],
      [1320, 0.12],
    ]);
    vibrate(80);
  } else if (kind === "warn") {
    tones(
      [
        [520, 0.14],
        [520, 0.14],
      ],
      "triangle",
    );
    vibrate([150, 80, 150]);
  } else {
    tones([[170, 0.45]], "square");
    vibrate([400, 100, 400]);
  }
}
