DROP TABLE onetime_tokens;
DROP TABLE employees;
