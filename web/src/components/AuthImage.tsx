// An <img> whose bytes need the bearer token.
import type { ImgHTMLAttributes } from "react";
import { useAuthBlob } from "../api/blobs";
import { useSession } from "../state/session";

export function AuthImage({
  path,
  alt,
  className,
  ...rest
}: { path: string | null; alt: string } & Omit<ImgHTMLAttributes<HTMLImageElement>, "src">) {
  const { blobs } = useSession();
  const { url, error } = useAuthBlob(blobs, path);
  if (error) {
    return (
      <span className={`img-placeholder img-error ${className ?? ""}`} role="img" aria-label={`${alt} (could not load)`}>
        !
      </span>
    );
  }
  if (!url) return <span className={`img-placeholder ${className ?? ""}`} role="img" aria-label={`${alt} (loading)`} aria-busy="true" />;
  return <img src={url} alt={alt} className={className} {...rest} />;
}
