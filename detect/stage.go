package detect

// The audit log holds one event per stage of a request. Labelling every
// stage turns one exec into three alerts and lets a refused request look
// like one that happened (RequestReceived is written before
// authorization), so the engine judges exactly one stage per request, the
// one that carries the outcome, as a function of the event alone:
//
//   - ResponseComplete for ordinary requests: it carries the final code.
//   - ResponseStarted for long-running requests (watch, exec, attach,
//     portforward, proxy, log): the API server writes it once the response
//     has begun, with the code, as soon as the session starts; their
//     ResponseComplete follows minutes or hours later and is judged only
//     when its code is an error (the request was refused, so it never
//     started and has no ResponseStarted) or, by the Engine, when no
//     ResponseStarted of the same auditID came before it (a policy or an
//     export without that stage; see startedSet).
//   - Panic always: the request broke the server and no later stage comes.
//   - RequestReceived never: it precedes authentication's outcome and
//     authorization, and a later stage always follows in a log that keeps
//     it. Audit policies usually omit it (omitStages: [RequestReceived]).
//   - Events without a stage (some exports drop it) are judged.
//
// A policy that omits ResponseStarted would leave successful long-running
// requests unlabelled: keep ResponseStarted (the shipped policies do), or
// set the long_running_stage list to [ResponseComplete], which judges
// long-running requests when they end instead.
const (
	stageReceived = "RequestReceived"
	stageStarted  = "ResponseStarted"
	stageComplete = "ResponseComplete"
)

// Judged reports whether ev is the stage of its request that rules
// evaluate (see above). Detect returns no match for the other stages.
func Judged(ev map[string]any) bool { return judged(ev, false) }

// judged is Judged; atComplete judges long-running requests on
// ResponseComplete (long_running_stage: [ResponseComplete]).
func judged(ev map[string]any, atComplete bool) bool {
	stage, _ := ev["stage"].(string)
	switch stage {
	case stageReceived:
		return false
	case stageStarted:
		return !atComplete && longRunning(ev)
	case stageComplete:
		if atComplete || !longRunning(ev) {
			return true
		}
		code, ok := scalarOf(obj(ev, "responseStatus")["code"]).num()
		return ok && code >= 400
	}
	return true
}

// longRunning mirrors the API server's long-running request check (verb
// watch or proxy, or one of the streaming subresources): only these get a
// ResponseStarted stage.
func longRunning(ev map[string]any) bool {
	switch v, _ := ev["verb"].(string); v {
	case "watch", "proxy":
		return true
	}
	switch s, _ := obj(ev, "objectRef")["subresource"].(string); s {
	case "exec", "attach", "portforward", "proxy", "log":
		return true
	}
	return false
}
