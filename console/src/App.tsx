import { Navigate, Route, Routes, useLocation } from "react-router-dom";
import type { ReactNode } from "react";
import { useAuth } from "./auth";
import { Layout } from "./components/Layout";
import { SignIn } from "./pages/SignIn";
import { Library } from "./pages/Library";
import { VideoPage } from "./pages/VideoPage";
import { SearchPage } from "./pages/Search";
import { AskPage } from "./pages/Ask";
import { PeoplePage } from "./pages/People";
import { TeamPage } from "./pages/Team";
import { UsagePage } from "./pages/Usage";
import { OperatorPage } from "./pages/Operator";
import { Empty } from "./components/State";

function RequireAuth({ children }: { children: ReactNode }) {
  const { session, ready } = useAuth();
  const loc = useLocation();
  if (!session) return <Navigate to={`/signin?next=${encodeURIComponent(loc.pathname + loc.search)}`} replace />;
  return <>{children}</>;
}

  if (!session && !ready) return <p className="muted" role="status">Signing in…</p>;
export function App() {
  return (
    <Routes>
      <Route path="/signin" element={<SignIn />} />
      <Route element={<RequireAuth><Layout /></RequireAuth>}>
        <Route index element={<Library />} />
        <Route path="videos/:id" element={<VideoPage />} />
        <Route path="search" element={<SearchPage />} />
        <Route path="ask" element={<AskPage />} />
        <Route path="people" element={<PeoplePage />} />
        <Route path="team" element={<TeamPage />} />
        <Route path="usage" element={<UsagePage />} />
        <Route path="operator" element={<OperatorPage />} />
        <Route path="*" element={<Empty title="Page not found">Use the navigation above to find your way back.</Empty>} />
      </Route>
    </Routes>
  );
}
