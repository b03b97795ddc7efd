// How numbers and times read on the page.

export function percent(share, digits = 1) {
  if (share === null || share === undefined) return "—";
  return `${(share * 100).toFixed(digits)} %`;
}

export function count(value) {
  return value === null || value === undefined ? "—" : value.toLocaleString("en");
}

export function when(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString("en-GB", { timeZone: "UTC", hour12: false }) + " UTC";
}

export function seconds(value) {
  if (value === null || value === undefined) return "—";
  const minutes = Math.floor(value / 60);
  return minutes ? `${minutes} min ${Math.round(value % 60)} s` : `${Math.round(value)} s`;
}

export function label(field) {
  return String(field).replaceAll("_", " ").replaceAll(".", " → ");
}
