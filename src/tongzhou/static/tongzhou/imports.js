// The import pages: upload with a progress bar, then follow the job until it has a result.
// Without JavaScript the form posts normally and the job page offers a refresh link.

const form = document.getElementById("import-form");
if (form) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const box = document.getElementById("upload-progress");
    const bar = document.getElementById("upload-bar");
    const text = document.getElementById("upload-text");
    const error = document.getElementById("upload-error");
    const button = form.querySelector("button[type=submit]");
    box.hidden = false;
    error.hidden = true;
    button.disabled = true;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action || window.location.href);
    xhr.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      const pct = Math.round((e.loaded / e.total) * 100);
      bar.value = pct;
      text.textContent = `${pct}%`;
    });
    xhr.addEventListener("load", () => {
      if (xhr.status === 200 && xhr.responseURL && xhr.responseURL !== window.location.href) {
        window.location.assign(xhr.responseURL); // the job page
        return;
      }
      const page = new DOMParser().parseFromString(xhr.responseText, "text/html");
      const said = page.querySelector(".form-error, main p");
      error.textContent = said ? said.textContent.trim() : form.dataset.failed || "Error";
      error.hidden = false;
      box.hidden = true;
      button.disabled = false;
    });
    xhr.addEventListener("error", () => {
      error.textContent = form.dataset.offline || "Offline";
      error.hidden = false;
      box.hidden = true;
      button.disabled = false;
    });
    xhr.send(new FormData(form));
  });
}

const job = document.querySelector("#import-job[data-poll]");
if (job) {
  const bar = document.getElementById("job-bar");
  const status = document.getElementById("job-status");
  const started = job.dataset.status;
  const poll = async () => {
    try {
      const r = await fetch(job.dataset.poll, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (r.ok) {
        const j = await r.json();
        status.textContent = j.status_text;
        if (j.status === "importing") bar.value = Math.round(j.progress * 100);
        if (j.status !== started) {
          window.location.reload();
          return;
        }
      }
    } catch (e) {
      /* offline for a moment: try again */
    }
    window.setTimeout(poll, 1000);
  };
  window.setTimeout(poll, 1000);
}
