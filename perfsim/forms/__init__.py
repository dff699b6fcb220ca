"""Real forms at the edge: the Ministry of Finance self-evaluation workbooks (项目支出/部门整体支出
绩效自评表) read into ordinary model objects, scored as printed and by the template rule, and
reviewed (复核). Below this layer nothing knows a workbook existed; above it nothing re-parses
text."""
