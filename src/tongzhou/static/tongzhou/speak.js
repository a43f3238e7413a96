// "Read aloud" with the browser's own speech synthesis: nothing leaves the phone.
// The language is the text's own (Chinese characters or not), not the page's.
const synth = window.speechSynthesis;
export const canSpeak = Boolean(synth && window.SpeechSynthesisUtterance);

const HAN = /[\u3400-\u9fff\uf900-\ufaff]/g;

export function languageOf(text, hint) {
  if (hint) return hint;
  const han = (text.match(HAN) || []).length;
  const latin = (text.match(/[A-Za-z]/g) || []).length;
  if (han === 0 || latin > han * 3) return "en-US";
  // Traditional readers get a Traditional voice where there is one.
  return document.documentElement.lang === "zh-Hant" ? "zh-TW" : "zh-CN";
}

function voiceFor(lang) {
  const voices = synth.getVoices();
  const base = lang.split("-")[0];
  return voices.find((v) => v.lang.replace("_", "-") === lang) ||
    voices.find((v) => v.lang.toLowerCase().startsWith(base)) || null;
}

let current = null; // the button whose text is being read

function reset(button) {
  if (!button) return;
  button.setAttribute("aria-pressed", "false");
  button.classList.remove("speaking");
}

// Tapping the same button again stops; another button switches to its text.
export function speak(text, button, hint) {
  if (!canSpeak || !text.trim()) return;
  const again = current === button;
  synth.cancel();
  reset(current);
  current = null;
  if (again) return;
  const utterance = new SpeechSynthesisUtterance(text);
  utterance.lang = languageOf(text, hint);
  const voice = voiceFor(utterance.lang);
  if (voice) utterance.voice = voice;
  utterance.rate = 0.9; // a little slower than the default: easier to follow
  utterance.addEventListener("end", () => { if (current === button) { reset(button); current = null; } });
  current = button;
  if (button) { button.setAttribute("aria-pressed", "true"); button.classList.add("speaking"); }
  synth.speak(utterance);
}

// Buttons in server-rendered pages: <button data-speak="#title, #body" hidden>; the texts of
// all the elements the selector finds are read in turn.
export function setupSpeakButtons(root = document) {
  if (!canSpeak) return; // the buttons stay hidden
  for (const button of root.querySelectorAll("button[data-speak]")) {
    button.hidden = false;
    button.addEventListener("click", () => {
      const parts = [...document.querySelectorAll(button.dataset.speak)].map((el) => el.innerText.trim());
      speak(parts.filter(Boolean).join("\n"), button, button.dataset.speakLang || null);
    });
  }
}
