"""The GraphQL documents the client sends (names follow the API's contract)."""

REF = "id code name"

STEP_FIELDS = f"seq name status limitDays startedAt finishedAt department {{ {REF} }} clock {{ light dueAt }}"

CASE_FIELDS = f"""
fragment CaseFields on Case {{
  id number status statusLabel light acceptedAt dueAt completedAt channel applicantName reportedLate
  center {{ {REF} }} department {{ {REF} }} item {{ {REF} }} window {{ {REF} }}
  runningSteps {{ {STEP_FIELDS} }}
}}
"""

CASES = CASE_FIELDS + """
query Cases($filter: CaseFilter, $first: Int, $after: String) {
  cases(filter: $filter, first: $first, after: $after) {
    totalCount
    edges { cursor node { ...CaseFields } }
    pageInfo { hasNextPage endCursor }
  }
}
"""

CASE = CASE_FIELDS + f"""
query Case($number: String!) {{
  case(number: $number) {{
    ...CaseFields
    steps {{ {STEP_FIELDS} }}
    history {{ id seq kind occurredAt recordedAt lagSeconds late actor source data }}
  }}
}}
"""

REPORT_EVENTS = """
mutation ReportCaseEvents($events: [ReportedEventInput!]!) {
  reportCaseEvents(events: $events) { sourceEventId status ledgerId late code message }
}
"""

AUTH_FIELDS = "accessToken refreshToken expiresIn role displayName"

LOGIN = f"""
mutation Login($username: String!, $password: String!) {{
  login(username: $username, password: $password) {{ {AUTH_FIELDS} }}
}}
"""

REFRESH = f"""
mutation Refresh($refreshToken: String!) {{
  refresh(refreshToken: $refreshToken) {{ {AUTH_FIELDS} }}
}}
"""

ROW = ("name code center lights { white yellow red paused } statuses { status count } "
       "complaintLights { white yellow red paused } orderLights { white yellow red paused }")

OVERVIEW = f"""
query Overview {{
  overview {{ asOf centers {{ {ROW} }} departments {{ {ROW} }} }}
}}
"""
