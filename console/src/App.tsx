import { Navigate, Route, Routes, useLocation } from "react-router-dom";
import type { ReactNode } from "react";
import { useAuth } from "./auth";
import { Layout } from "./components/Layout";
import { SignIn } from "./pages/SignIn";
import { ForgotPassword, ResetPassword } from "./pages/PasswordReset";
import { Library } from "./pages/Library";
import { VideoPage } from "./pages/VideoPage";
import { SearchPage } from "./pages/Search";
import { AskPage } from "./pages/Ask";
import { PeoplePage } from "./pages/People";
import { TeamPage } from "./pages/Team";
import { UsagePage } from "./pages/Usage";
import { BillingPage } from "./pages/Billing";
import { OperatorPage } from "./pages/Operator";
import { ModelsPage } from "./pages/Models";
import { CompliancePage, ComplianceReportPage } from "./pages/Compliance";
import { Empty } from "./components/State";

function RequireAuth({ children }: { children: ReactNode }) {
  const { session, ready } = useAuth();
  const loc = useLocation();
  if (!session && !ready) return <p className="muted" role="status">Signing in…</p>;
  if (!session) return <Navigate to={`/signin?next=${encodeURIComponent(loc.pathname + loc.search)}`} replace />;
  return <>{children}</>;
}

export function App() {
  return (
    <Routes>
      <Route path="/signin" element={<SignIn />} />
      <Route path="/forgot-password" element={<ForgotPassword />} />
      <Route path="/reset-password" element={<ResetPassword />} />
      <Route element={<RequireAuth><Layout /></RequireAuth>}>
        <Route index element={<Library />} />
        <Route path="videos/:id" element={<VideoPage />} />
        <Route path="search" element={<SearchPage />} />
        <Route path="ask" element={<AskPage />} />
        <Route path="people" element={<PeoplePage />} />
        <Route path="team" element={<TeamPage />} />
        <Route path="usage" element={<UsagePage />} />
        <Route path="billing" element={<BillingPage />} />
        <Route path="models" element={<ModelsPage />} />
        <Route path="compliance" element={<CompliancePage />} />
        <Route path="compliance/:id" element={<ComplianceReportPage />} />
        <Route path="operator" element={<OperatorPage />} />
        <Route path="*" element={<Empty title="Page not found">Use the navigation above to find your way back.</Empty>} />
      </Route>
    </Routes>
  );
}
