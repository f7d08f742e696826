import type { Model } from "../api/types";

const FACE = { name: "face_enhance", label: "Enhance faces", choices: [false, true], default: false, description: "" };
export const MODELS: Model[] = [
  { type: "none", family: "none", label: "None", description: "Re-encode only.", options: [], available: true, engine: "none", reason: null },
  {
    type: "sr", family: "realsr", label: "SR", description: "Photo super-resolution.", available: true, engine: "realsr", reason: null,
    options: [{ name: "scale", label: "Scale", choices: [2, 3, 4], default: 4, description: "" }],
  },
  { type: "restore", family: "bopb", label: "Restoration w/o scratches", description: "", options: [FACE], available: false, engine: "", reason: "BOPB weights are not installed" },
  { type: "restore_scratch", family: "bopb", label: "Restoration w/ scratches", description: "", options: [FACE], available: false, engine: "", reason: "BOPB weights are not installed" },
  {
    type: "sr2d", family: "waifu2x", label: "2D SR", description: "Anime art.", available: true, engine: "waifu2x", reason: null,
    options: [
      { name: "noise", label: "Noise level", choices: [-1, 0, 1, 2, 3], default: 1, description: "-1 keeps the noise" },
      { name: "scale", label: "Scale", choices: [1, 2, 4], default: 2, description: "" },
      { name: "style", label: "Style", choices: ["art", "photo"], default: "art", description: "" },
    ],
  },
];
