// The whole page is a drop target: files dropped anywhere go to the upload queue (into the album on screen),
// and a dropped file never makes the browser open it and leave the app.
import { useEffect, useState } from "react";
import { matchPath, usePath } from "../router";
import { useAlbums } from "../state/albums";
import { useUploadQueue } from "../state/uploads";

export function hasFiles(event: DragEvent): boolean {
  return Array.from(event.dataTransfer?.types ?? []).includes("Files");
}

/** Stop the browser from opening files dropped outside any target (also while signed out). */
export function usePreventFileOpen(): void {
  useEffect(() => {
    const stop = (event: DragEvent) => {
      if (hasFiles(event)) event.preventDefault();
    };
    window.addEventListener("dragover", stop);
    window.addEventListener("drop", stop);
    return () => {
      window.removeEventListener("dragover", stop);
      window.removeEventListener("drop", stop);
    };
  }, []);
}

export function PageDrop() {
  const queue = useUploadQueue();
  const path = usePath();
  const { albums } = useAlbums();
  const albumId = matchPath("/albums/:id", path)?.id ?? null;
  const album = albumId ? albums?.find((a) => a.id === albumId) : undefined;
  const [over, setOver] = useState(false);

  useEffect(() => {
    let depth = 0;
    const enter = (event: DragEvent) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      depth += 1;
      setOver(true);
    };
    const overHandler = (event: DragEvent) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      if (event.dataTransfer) event.dataTransfer.dropEffect = "copy";
    };
    const leave = (event: DragEvent) => {
      if (!hasFiles(event)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0 || event.relatedTarget === null) {
        depth = 0;
        setOver(false);
      }
    };
    const drop = (event: DragEvent) => {
      if (!hasFiles(event)) return;
      event.preventDefault();
      depth = 0;
      setOver(false);
      const files = Array.from(event.dataTransfer?.files ?? []);
      if (files.length) queue.add(files, albumId);
    };
    window.addEventListener("dragenter", enter);
    window.addEventListener("dragover", overHandler);
    window.addEventListener("dragleave", leave);
    window.addEventListener("drop", drop);
    return () => {
      window.removeEventListener("dragenter", enter);
      window.removeEventListener("dragover", overHandler);
      window.removeEventListener("dragleave", leave);
      window.removeEventListener("drop", drop);
    };
  }, [queue, albumId]);

  if (!over) return null;
  return (
    <div className="page-drop" aria-hidden="true">
      <div className="page-drop-card">Drop to upload to {album ? `“${album.name}”` : "All images"}</div>
    </div>
  );
}
